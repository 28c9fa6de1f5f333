using JaroWinklerSimilarity = F23.StringSimilarity.JaroWinkler;
using Quickenshtein;

namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// How two records' fields agree, as one comparison vector (Fellegi-Sunter's gamma): per compared field a level,
/// 0 when either side has no usable value, 1 when they differ, up to <see cref="Levels"/> for an exact match. Packed
/// three bits a field into a long; bit 62 says the names were compared crosswise (given name against surname).
/// </summary>
public sealed class PairComparer
{
    public const long Swapped = 1L << 62;
    private const int Bits = 3;

    /// <summary>Levels per field (exact is the highest); Country and FullName are not compared.</summary>
    public static readonly int[] Levels = BuildLevels();

    private static readonly JaroWinklerSimilarity JaroWinkler = new();

    private readonly ProfileRecords _records;
    private readonly Usable _usable;

    public PairComparer(ProfileRecords records, Usable usable)
    {
        _records = records;
        _usable = usable;
    }

    public static int Level(long gamma, ProfileField field) => (int)((gamma >> ((int)field * Bits)) & 7);

    public static bool IsExact(long gamma, ProfileField field) => Level(gamma, field) == Levels[(int)field];

    /// <summary>What a level means, for <c>unified_scores</c> and the explain endpoint.</summary>
    public static string Label(ProfileField field, int level)
    {
        if (level == 0) return "missing";
        if (level == 1) return "different";
        if (level == Levels[(int)field]) return "exact";
        return field switch
        {
            ProfileField.GivenName or ProfileField.Surname or ProfileField.Address => level == 3 ? "jaro-winkler>=0.92" : "jaro-winkler>=0.80",
            ProfileField.Birthdate => level == 3 ? "1 edit" : "2 edits",
            ProfileField.Email => level == 3 ? "1 edit" : "same user",
            ProfileField.Phone or ProfileField.Postal => "1 edit",
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
        // swapped, or clearly closer swapped than as written.
        if (ga >= 0 && gb >= 0 && sa >= 0 && sb >= 0 && given + surname < 1.7)
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
        gamma |= Set(ProfileField.Address, Similar(ProfileField.Address, a, b, 0.92, 0.80));
        gamma |= Set(ProfileField.Address2, Similar(ProfileField.Address2, a, b, 0.90, null));
        gamma |= Set(ProfileField.City, Similar(ProfileField.City, a, b, 0.90, null));
        gamma |= Set(ProfileField.State, Exact(ProfileField.State, a, b));
        gamma |= Set(ProfileField.Postal, Edits(ProfileField.Postal, a, b, twoEdits: false));
        gamma |= Set(ProfileField.Gender, Exact(ProfileField.Gender, a, b));
        return gamma;
    }

    /// <summary>Jaro-Winkler similarity of two values of a pool (1 for the same value, 0 when either is missing).</summary>
    private static double Similarity(ValuePool pool, int a, int b) =>
        a < 0 || b < 0 ? 0 : a == b ? 1 : JaroWinkler.Similarity(pool[a], pool[b]);

    private static long Set(ProfileField field, int level) => (long)level << ((int)field * Bits);

    private static int Name(ValuePool names, int a, int b, double similarity)
    {
        if (a < 0 || b < 0) return 0;
        if (a == b) return 4;
        if (similarity >= 0.92) return 3;
        // An initial agrees with the name it stands for ("j" and "john").
        var (x, y) = (names[a][0], names[b][0]);
        if (similarity >= 0.80 || (names[a].Length == 1 || names[b].Length == 1) && x == y) return 2;
        return 1;
    }

    private int Exact(ProfileField field, int a, int b)
    {
        var (x, y) = (_usable.Key(field, a), _usable.Key(field, b));
        if (x < 0 || y < 0) return 0;
        return x == y ? 2 : 1;
    }

    private int Similar(ProfileField field, int a, int b, double high, double? low)
    {
        var (x, y) = (_usable.Key(field, a), _usable.Key(field, b));
        if (x < 0 || y < 0) return 0;
        var top = Levels[(int)field];
        if (x == y) return top;
        var pool = _records.KeyPools[(int)field];
        var similarity = JaroWinkler.Similarity(pool[x], pool[y]);
        if (similarity >= high) return top - 1;
        if (low is { } l && similarity >= l) return top - 2;
        return 1;
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
        if (x == y) return 4;
        var pool = _records.KeyPools[(int)ProfileField.Email];
        var sx = pool[x];
        var sy = pool[y];
        if (Math.Abs(sx.Length - sy.Length) <= 1 && Levenshtein.GetDistance(sx, sy) <= 1) return 3;
        var ux = sx[..sx.IndexOf('@')];
        var uy = sy[..sy.IndexOf('@')];
        return ux.Length >= 3 && ux.SequenceEqual(uy) ? 2 : 1;
    }

    private static int[] BuildLevels()
    {
        var levels = new int[ProfileFields.Compared];
        foreach (var field in ProfileFields.All.Take(ProfileFields.Compared))
            levels[(int)field] = field switch
            {
                ProfileField.GivenName or ProfileField.Surname or ProfileField.Birthdate or ProfileField.Email or ProfileField.Address => 4,
                ProfileField.Phone or ProfileField.Address2 or ProfileField.City or ProfileField.Postal => 3,
                _ => 2,
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
