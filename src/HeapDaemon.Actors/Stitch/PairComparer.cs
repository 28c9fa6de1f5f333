using JaroWinklerSimilarity = F23.StringSimilarity.JaroWinkler;
using Quickenshtein;

namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// How two records agree, as one comparison vector (Fellegi-Sunter's gamma): per comparison a level, 0 when either
/// side has no usable value, 1 when they differ, up to <see cref="Levels"/> for an exact match; three bits each, in the
/// slot of the comparison's field, packed into a long (bit 62: the names were compared crosswise, given name against
/// surname). City, state and postal code are one comparison, "place", in the postal slot: they say the same thing
/// (where someone lives), and counting them as three independent agreements would triple-count it.
/// </summary>
public sealed class PairComparer
{
    public const long Swapped = 1L << 62;
    private const int Bits = 3;

    /// <summary>Levels per slot (exact is the highest); 0 for a slot that is not compared (city and state: see place).</summary>
    public static readonly int[] Levels = BuildLevels();

    /// <summary>The slots that hold a comparison.</summary>
    public static readonly ProfileField[] Comparisons = [.. ProfileFields.All.Take(ProfileFields.Compared).Where(f => Levels[(int)f] > 0)];

    private static readonly JaroWinklerSimilarity JaroWinkler = new();

    /// <summary>Common English nicknames, each with the name it stands for.</summary>
    private static readonly (string Nickname, string Name)[] Nicknames =
    [
        ("bob", "robert"), ("rob", "robert"), ("bobby", "robert"), ("bill", "william"), ("will", "william"), ("billy", "william"),
        ("liam", "william"), ("dick", "richard"), ("rick", "richard"), ("jim", "james"), ("jimmy", "james"), ("mike", "michael"),
        ("liz", "elizabeth"), ("beth", "elizabeth"), ("betty", "elizabeth"), ("jen", "jennifer"), ("jenny", "jennifer"),
        ("chris", "christopher"), ("kate", "katherine"), ("katie", "katherine"), ("cathy", "catherine"), ("maggie", "margaret"),
        ("peggy", "margaret"), ("tom", "thomas"), ("tommy", "thomas"), ("joe", "joseph"), ("joey", "joseph"), ("dan", "daniel"),
        ("danny", "daniel"), ("matt", "matthew"), ("tony", "anthony"), ("pat", "patricia"), ("patty", "patricia"), ("sam", "samantha"),
        ("alex", "alexander"), ("nick", "nicholas"), ("jon", "jonathan"), ("steve", "steven"), ("steve", "stephen"), ("ben", "benjamin"),
        ("ed", "edward"), ("ted", "edward"), ("eddie", "edward"), ("larry", "lawrence"), ("jack", "john"), ("johnny", "john"),
        ("greg", "gregory"), ("andy", "andrew"), ("drew", "andrew"), ("tim", "timothy"), ("ron", "ronald"), ("don", "donald"),
        ("ken", "kenneth"), ("jeff", "jeffrey"), ("sue", "susan"), ("susie", "susan"), ("debbie", "deborah"), ("deb", "deborah"),
        ("vicky", "victoria"), ("abby", "abigail"), ("nate", "nathan"), ("zach", "zachary"), ("josh", "joshua"), ("jake", "jacob"),
        ("gabe", "gabriel"), ("frank", "francis"), ("fran", "frances"), ("chuck", "charles"), ("charlie", "charles"), ("al", "albert"),
        ("walt", "walter"), ("harry", "henry"), ("hank", "henry"), ("ray", "raymond"), ("jerry", "gerald"), ("terry", "terence"),
    ];

    private readonly ProfileRecords _records;
    private readonly Usable _usable;
    private readonly Dictionary<int, int> _formalName = new();

    public PairComparer(ProfileRecords records, Usable usable)
    {
        _records = records;
        _usable = usable;
        var names = records.KeyPools[(int)ProfileField.GivenName];
        foreach (var (nickname, name) in Nicknames)
        {
            var (n, f) = (names.Find(nickname), names.Find(name));
            if (n >= 0 && f >= 0) _formalName.TryAdd(n, f);
        }
    }

    public static int Level(long gamma, ProfileField field) => (int)((gamma >> ((int)field * Bits)) & 7);

    public static bool IsExact(long gamma, ProfileField field) => Level(gamma, field) == Levels[(int)field];

    /// <summary>The comparison's name in <c>unified_scores</c>: the field's column, and "place" for city, state and postal code.</summary>
    public static string Name(ProfileField slot) => slot == ProfileField.Postal ? "place" : slot.Column();

    /// <summary>What a level means, for the run's model and the explain endpoint.</summary>
    public static string Label(ProfileField field, int level)
    {
        if (level == 0) return "missing";
        if (level == 1) return "different";
        if (level == Levels[(int)field]) return field == ProfileField.Postal ? "same postal code" : "exact";
        return (field, level) switch
        {
            (ProfileField.GivenName or ProfileField.Surname, 3) => "jaro-winkler>=0.92",
            (ProfileField.GivenName or ProfileField.Surname, _) => "jaro-winkler>=0.80, an initial or a nickname",
            (ProfileField.Address, 3) => "same number, street jaro-winkler>=0.88",
            (ProfileField.Address, _) => "same street, another number",
            (ProfileField.Birthdate, 3) => "1 edit",
            (ProfileField.Birthdate, _) => "2 edits",
            (ProfileField.Email, _) => "1 edit",
            (ProfileField.Postal, 3) => "postal code 1 edit, same city",
            (ProfileField.Postal, _) => "same city",
            (ProfileField.Phone, _) => "1 edit",
            _ => "jaro-winkler>=0.90",
        };
    }

    public long Compare(int a, int b)
    {
        long gamma = 0;
        var (ga, gb) = (_usable.Key(ProfileField.GivenName, a), _usable.Key(ProfileField.GivenName, b));
        var (sa, sb) = (_usable.Key(ProfileField.Surname, a), _usable.Key(ProfileField.Surname, b));
        var names = _records.KeyPools[(int)ProfileField.GivenName];
        double given = Similarity(names, ga, gb), surname = Similarity(names, sa, sb);
        // Names better read crosswise (given name written as surname and back, with or without typos): exactly
        // swapped, or clearly closer swapped than as written. Only tried when a given name starts as the other's surname.
        if (ga >= 0 && gb >= 0 && sa >= 0 && sb >= 0 && given + surname < 1.7 && (names[ga][0] == names[sb][0] || names[sa][0] == names[gb][0]))
        {
            var (crossGiven, crossSurname) = (Similarity(names, ga, sb), Similarity(names, sa, gb));
            if (crossGiven + crossSurname > given + surname + 0.15)
            {
                gamma |= Swapped;
                (gb, sb, given, surname) = (sb, gb, crossGiven, crossSurname);
            }
        }
        gamma |= Set(ProfileField.GivenName, Name(names, ga, gb, given));
        gamma |= Set(ProfileField.Surname, Name(names, sa, sb, surname));
        gamma |= Set(ProfileField.Birthdate, Edits(ProfileField.Birthdate, a, b, twoEdits: true));
        gamma |= Set(ProfileField.Email, Email(a, b));
        gamma |= Set(ProfileField.Phone, Edits(ProfileField.Phone, a, b, twoEdits: false));
        gamma |= Set(ProfileField.Address, Address(a, b));
        gamma |= Set(ProfileField.Address2, Similar(ProfileField.Address2, a, b, 0.90));
        gamma |= Set(ProfileField.Postal, Place(a, b));
        gamma |= Set(ProfileField.Gender, Exact(ProfileField.Gender, a, b));
        return gamma;
    }

    /// <summary>Jaro-Winkler similarity of two values of a pool (1 for the same value, 0 when either is missing).</summary>
    private static double Similarity(ValuePool pool, int a, int b) =>
        a < 0 || b < 0 ? 0 : a == b ? 1 : JaroWinkler.Similarity(pool[a], pool[b]);

    private static long Set(ProfileField field, int level) => (long)level << ((int)field * Bits);

    private int Name(ValuePool names, int a, int b, double similarity)
    {
        if (a < 0 || b < 0) return 0;
        if (a == b) return 4;
        if (similarity >= 0.92) return 3;
        if (similarity >= 0.80) return 2;
        // An initial agrees with the name it stands for ("j" and "john"), a nickname with its name ("bob" and "robert").
        var x = names[a];
        var y = names[b];
        if ((x.Length == 1 || y.Length == 1) && x[0] == y[0]) return 2;
        if (_formalName.Count > 0 && (_formalName.GetValueOrDefault(a, a) == _formalName.GetValueOrDefault(b, b))) return 2;
        return 1;
    }

    private int Exact(ProfileField field, int a, int b)
    {
        var (x, y) = (_usable.Key(field, a), _usable.Key(field, b));
        if (x < 0 || y < 0) return 0;
        return x == y ? 2 : 1;
    }

    private int Similar(ProfileField field, int a, int b, double threshold)
    {
        var (x, y) = (_usable.Key(field, a), _usable.Key(field, b));
        if (x < 0 || y < 0) return 0;
        var top = Levels[(int)field];
        if (x == y) return top;
        var pool = _records.KeyPools[(int)field];
        return JaroWinkler.Similarity(pool[x], pool[y]) >= threshold ? top - 1 : 1;
    }

    private int Edits(ProfileField field, int a, int b, bool twoEdits)
    {
        var (x, y) = (_usable.Key(field, a), _usable.Key(field, b));
        if (x < 0 || y < 0) return 0;
        var top = Levels[(int)field];
        if (x == y) return top;
        var pool = _records.KeyPools[(int)field];
        var sx = pool[x];
        var sy = pool[y];
        if (Math.Abs(sx.Length - sy.Length) > 2) return 1;
        var distance = Levenshtein.GetDistance(sx, sy);
        if (distance <= 1) return top - 1;
        if (twoEdits && distance <= 2) return top - 2;
        return 1;
    }

    private int Email(int a, int b)
    {
        var (x, y) = (_usable.Key(ProfileField.Email, a), _usable.Key(ProfileField.Email, b));
        if (x < 0 || y < 0) return 0;
        if (x == y) return 3;
        var pool = _records.KeyPools[(int)ProfileField.Email];
        var sx = pool[x];
        var sy = pool[y];
        // The same user at another domain is not a level of its own: john.smith@ at two providers is as often two
        // John Smiths as one, and it says no more than the names already do.
        return Math.Abs(sx.Length - sy.Length) <= 1 && Levenshtein.GetDistance(sx, sy) <= 1 ? 2 : 1;
    }

    /// <summary>
    /// An address line as its house number (the first word starting with a digit) and the rest: the same number on a
    /// street spelt alike is one address with typos; another number on the same street is a neighbour, or a typo in the
    /// number, and weighs less.
    /// </summary>
    private int Address(int a, int b)
    {
        var (x, y) = (_usable.Key(ProfileField.Address, a), _usable.Key(ProfileField.Address, b));
        if (x < 0 || y < 0) return 0;
        if (x == y) return 4;
        var pool = _records.KeyPools[(int)ProfileField.Address];
        var lx = pool[x];
        var ly = pool[y];
        var (nx, sx) = SplitNumber(lx);
        var (ny, sy) = SplitNumber(ly);
        var street = JaroWinkler.Similarity(sx, sy);
        var sameNumber = nx.Length > 0 && ny.Length > 0 && nx.SequenceEqual(ny);
        var noNumber = nx.Length == 0 || ny.Length == 0;
        if ((sameNumber || noNumber) && street >= 0.88) return 3;
        if (street >= 0.92 || sameNumber && street >= 0.70) return 2;
        return 1;
    }

    /// <summary>The first word starting with a digit (the house number), and the line without it.</summary>
    private static SplitLine SplitNumber(ReadOnlySpan<char> line)
    {
        var start = 0;
        while (start < line.Length)
        {
            var end = line[start..].IndexOf(' ');
            end = end < 0 ? line.Length : start + end;
            if (end > start && char.IsAsciiDigit(line[start]))
                return new SplitLine(line[start..end], start == 0 ? line[Math.Min(end + 1, line.Length)..] : line);
            start = end + 1;
        }
        return new SplitLine([], line);
    }

    private readonly ref struct SplitLine(ReadOnlySpan<char> number, ReadOnlySpan<char> street)
    {
        private readonly ReadOnlySpan<char> _number = number;
        private readonly ReadOnlySpan<char> _street = street;

        public void Deconstruct(out ReadOnlySpan<char> number, out ReadOnlySpan<char> street)
        {
            number = _number;
            street = _street;
        }
    }

    /// <summary>Where someone lives: the same postal code; a postal code one edit away in the same city; the same city (and state).</summary>
    private int Place(int a, int b)
    {
        var (pa, pb) = (_usable.Key(ProfileField.Postal, a), _usable.Key(ProfileField.Postal, b));
        var (ca, cb) = (_usable.Key(ProfileField.City, a), _usable.Key(ProfileField.City, b));
        var (ta, tb) = (_usable.Key(ProfileField.State, a), _usable.Key(ProfileField.State, b));
        var postal = pa >= 0 && pb >= 0;
        var city = ca >= 0 && cb >= 0;
        if (!postal && !city) return 0;
        if (postal && pa == pb) return 4;
        var sameCity = city && (ca == cb || JaroWinkler.Similarity(_records.KeyPools[(int)ProfileField.City][ca],
            _records.KeyPools[(int)ProfileField.City][cb]) >= 0.90) && (ta < 0 || tb < 0 || ta == tb);
        var postalTypo = postal && Levenshtein.GetDistance(_records.KeyPools[(int)ProfileField.Postal][pa], _records.KeyPools[(int)ProfileField.Postal][pb]) <= 1;
        if (postalTypo && (sameCity || !city)) return 3;
        if (sameCity) return 2;
        return 1;
    }

    private static int[] BuildLevels()
    {
        var levels = new int[ProfileFields.Compared];
        foreach (var field in ProfileFields.All.Take(ProfileFields.Compared))
            levels[(int)field] = field switch
            {
                ProfileField.GivenName or ProfileField.Surname or ProfileField.Birthdate or ProfileField.Address or ProfileField.Postal => 4,
                ProfileField.Email or ProfileField.Phone or ProfileField.Address2 => 3,
                ProfileField.Gender => 2,
                _ => 0,
            };
        return levels;
    }
}

/// <summary>
/// The values a stitch may use: a field's compared value unless the field is not compared or the value is set aside
/// (shared by more than <see cref="StitchSettings.MaxRecordsPerValue"/> records).
/// </summary>
public sealed class Usable(ProfileRecords records, bool[] compared, HashSet<int>[] setAside)
{
    public ProfileRecords Records => records;

    public bool[] Compared { get; } = compared;

    public HashSet<int>[] SetAside { get; } = setAside;

    public int Key(ProfileField field, int record)
    {
        var f = (int)field;
        if (!Compared[f]) return ProfileRecords.None;
        var key = records.Key(field, record);
        return key >= 0 && SetAside[f].Count > 0 && SetAside[f].Contains(key) ? ProfileRecords.None : key;
    }
}
