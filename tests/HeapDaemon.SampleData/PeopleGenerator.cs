using System.Globalization;
using System.Text;

namespace HeapDaemon.SampleData;

/// <summary>One synthetic person: the truth the source records are made from.</summary>
public sealed record Person(int Id, string Given, string Surname, DateOnly Birthdate, string Email, string Phone, int HouseNumber, string Street,
    string City, string State, string Zip, string Gender);

/// <summary>A source table of the synthetic data: its CSV header, rows, and which person each row is (the truth).</summary>
public sealed class SourceFile(string source, string table, string header)
{
    public string Source { get; } = source;
    public string Table { get; } = table;
    public string Header { get; } = header;
    public List<string> Rows { get; } = [];
    /// <summary>Primary key → person id.</summary>
    public List<(string Pk, int Person)> Truth { get; } = [];

    public string Csv()
    {
        var text = new StringBuilder(Header).Append('\n');
        foreach (var row in Rows) text.Append(row).Append('\n');
        return text.ToString();
    }
}

/// <summary>
/// Synthetic people across three sources, with a known truth, for Stitch's tests, demo and benchmark:
/// <list type="bullet">
/// <item><c>crm.customers</c> (customer_id, first_name, last_name, email, phone, address, city, state, zip, birthdate,
/// gender, updated_at): most people once, some twice (a duplicate account with typos).</item>
/// <item><c>shop.orders</c> (order_id, customer_name, email, phone, ship_address, ship_city, ship_state, ship_zip,
/// birthdate, amount, ordered_at): zero to three orders a person, the name as one field, often no phone or birthdate.</item>
/// <item><c>loyalty.members</c> (member_id, given, surname, email, dob, zip, phone): some people, sometimes with
/// another email.</item>
/// </list>
/// Copies of a person carry typos, nicknames, other spellings of the street type, missing values, plus-addressed and
/// upper-case emails, phones in several formats. Names follow a skewed frequency (a few very common), so blocks and
/// term frequencies look like real ones. Deterministic from the seed.
/// </summary>
public sealed class PeopleGenerator(int seed)
{
    private static readonly string[] Given =
    [
        "james", "mary", "robert", "patricia", "john", "jennifer", "michael", "linda", "david", "elizabeth", "william", "barbara",
        "richard", "susan", "joseph", "jessica", "thomas", "sarah", "charles", "karen", "christopher", "lisa", "daniel", "nancy",
        "matthew", "betty", "anthony", "margaret", "mark", "sandra", "donald", "ashley", "steven", "kimberly", "paul", "emily",
        "andrew", "donna", "joshua", "michelle", "kenneth", "carol", "kevin", "amanda", "brian", "dorothy", "george", "melissa",
        "timothy", "deborah", "ronald", "stephanie", "edward", "rebecca", "jason", "sharon", "jeffrey", "laura", "ryan", "cynthia",
        "jacob", "kathleen", "gary", "amy", "nicholas", "angela", "eric", "shirley", "jonathan", "anna", "stephen", "brenda",
        "larry", "pamela", "justin", "emma", "scott", "nicole", "brandon", "helen", "benjamin", "samantha", "samuel", "katherine",
        "gregory", "christine", "alexander", "debra", "frank", "rachel", "patrick", "carolyn", "raymond", "janet", "jack", "catherine",
        "dennis", "maria", "jerry", "heather", "tyler", "diane", "aaron", "ruth", "jose", "julie", "adam", "olivia", "nathan", "joyce",
        "henry", "virginia", "douglas", "victoria", "zachary", "kelly", "peter", "lauren", "kyle", "christina", "noah", "joan",
        "ethan", "evelyn", "jeremy", "judith", "walter", "megan", "christian", "andrea", "keith", "cheryl", "roger", "hannah",
        "terry", "jacqueline", "austin", "martha", "sean", "gloria", "gerald", "teresa", "carl", "ann", "harold", "sara", "dylan",
        "madison", "arthur", "frances", "lawrence", "kathryn", "jordan", "janice", "jesse", "jean", "bryan", "abigail", "billy",
        "alice", "bruce", "judy", "gabriel", "sophia", "joe", "grace", "logan", "denise", "alan", "amber", "juan", "doris",
        "wayne", "marilyn", "roy", "danielle", "ralph", "beverly", "randy", "isabella", "eugene", "theresa", "vincent", "diana",
        "russell", "natalie", "louis", "brittany", "philip", "charlotte", "bobby", "marie", "johnny", "kayla", "bradley", "alexis",
        "mateo", "sofia", "liam", "zoe", "lucas", "mia", "oliver", "ava", "elijah", "chloe", "aiden", "layla", "caleb", "nora",
    ];

    private static readonly string[] Surnames =
    [
        "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez", "martinez", "hernandez", "lopez",
        "gonzalez", "wilson", "anderson", "thomas", "taylor", "moore", "jackson", "martin", "lee", "perez", "thompson", "white",
        "harris", "sanchez", "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright", "scott", "torres",
        "nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall", "rivera", "campbell", "mitchell", "carter", "roberts",
        "gomez", "phillips", "evans", "turner", "diaz", "parker", "cruz", "edwards", "collins", "reyes", "stewart", "morris",
        "morales", "murphy", "cook", "rogers", "gutierrez", "ortiz", "morgan", "cooper", "peterson", "bailey", "reed", "kelly",
        "howard", "ramos", "kim", "cox", "ward", "richardson", "watson", "brooks", "chavez", "wood", "james", "bennett", "gray",
        "mendoza", "ruiz", "hughes", "price", "alvarez", "castillo", "sanders", "patel", "myers", "long", "ross", "foster",
        "jimenez", "powell", "jenkins", "perry", "russell", "sullivan", "bell", "coleman", "butler", "henderson", "barnes",
        "gonzales", "fisher", "vasquez", "simmons", "romero", "jordan", "patterson", "alexander", "hamilton", "graham", "reynolds",
        "griffin", "wallace", "moreno", "west", "cole", "hayes", "bryant", "herrera", "gibson", "ellis", "tran", "medina", "aguilar",
        "stevens", "murray", "ford", "castro", "marshall", "owens", "harrison", "fernandez", "mcdonald", "woods", "washington",
        "kennedy", "wells", "vargas", "henry", "chen", "freeman", "webb", "tucker", "guzman", "burns", "crawford", "olson",
        "simpson", "porter", "hunter", "gordon", "mendez", "silva", "shaw", "snyder", "mason", "dixon", "munoz", "hunt", "hicks",
        "holmes", "palmer", "wagner", "black", "robertson", "boyd", "rose", "stone", "salazar", "fox", "warren", "mills", "meyer",
        "rice", "schmidt", "garza", "daniels", "ferguson", "nichols", "stephens", "soto", "weaver", "ryan", "gardner", "payne",
        "grant", "dunn", "kelley", "spencer", "hawkins", "arnold", "pierce", "vazquez", "hansen", "peters", "santos", "hart",
        "bradley", "knight", "elliott", "cunningham", "duncan", "armstrong", "hudson", "carroll", "lane", "riley", "andrews",
        "alvarado", "ray", "delgado", "berry", "perkins", "hoffman", "johnston", "matthews", "pena", "richards", "contreras",
        "willis", "carpenter", "lawrence", "sandoval", "guerrero", "george", "chapman", "rios", "estrada", "ortega", "watkins",
        "greene", "nunez", "wheeler", "valdez", "harper", "burke", "larson", "santiago", "maldonado", "morrison", "franklin",
        "carlson", "austin", "dominguez", "carr", "lawson", "jacobs", "obrien", "lynch", "singh", "vega", "bishop", "montgomery",
        "oliver", "jensen", "harvey", "williamson", "gilbert", "dean", "sims", "espinoza", "howell", "li", "wong", "reid", "hanson",
        "le", "mccoy", "garrett", "burton", "fuller", "wang", "weber", "welch", "rojas", "lucas", "marquez", "fields", "park",
        "yang", "little", "banks", "padilla", "day", "walsh", "bowman", "schultz", "luna", "fowler", "mejia", "davidson", "acosta",
        "brewer", "may", "holland", "juarez", "newman", "pearson", "curtis", "cortez", "douglas", "schneider", "joseph", "barrett",
        "navarro", "figueroa", "keller", "avila", "wade", "molina", "stanley", "hopkins", "campos", "barnett", "bates", "chambers",
        "caldwell", "beck", "lambert", "miranda", "byrd", "craig", "ayala", "lowe", "frazier", "powers", "neal", "leonard", "gregory",
    ];

    private static readonly (string City, string State, string Zip)[] Places = BuildPlaces();

    private static readonly string[] StreetNames =
    [
        "main", "oak", "pine", "maple", "cedar", "elm", "washington", "lake", "hill", "park", "view", "walnut", "sunset", "lincoln",
        "jackson", "church", "river", "highland", "forest", "spring", "ridge", "meadow", "willow", "valley", "cherry", "chestnut",
        "franklin", "jefferson", "madison", "adams", "hickory", "birch", "dogwood", "magnolia", "laurel", "sycamore", "aspen",
        "poplar", "holly", "ivy", "juniper", "cypress", "redwood", "spruce", "sequoia", "bay", "harbor", "ocean", "beach", "bridge",
    ];

    private static readonly (string Long, string Short)[] StreetTypes =
        [("street", "st"), ("avenue", "ave"), ("road", "rd"), ("drive", "dr"), ("lane", "ln"), ("court", "ct"), ("place", "pl"), ("boulevard", "blvd")];

    private static readonly Dictionary<string, string> Nicknames = new()
    {
        ["robert"] = "bob", ["william"] = "bill", ["richard"] = "dick", ["james"] = "jim", ["michael"] = "mike", ["elizabeth"] = "liz",
        ["jennifer"] = "jen", ["christopher"] = "chris", ["katherine"] = "kate", ["margaret"] = "maggie", ["thomas"] = "tom",
        ["joseph"] = "joe", ["daniel"] = "dan", ["matthew"] = "matt", ["anthony"] = "tony", ["patricia"] = "pat", ["samantha"] = "sam",
        ["alexander"] = "alex", ["nicholas"] = "nick", ["jonathan"] = "jon", ["steven"] = "steve", ["benjamin"] = "ben",
    };

    private static readonly string[] Domains = ["gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "aol.com", "example.com"];

    private readonly Random _random = new(seed);
    private readonly HashSet<string> _emails = new(StringComparer.Ordinal);

    /// <summary>Emails the generator gives the first people (e.g. the Heap sample's users', so the sources share them).</summary>
    public IReadOnlyList<string> KnownEmails { get; init; } = [];

    /// <summary>The people and the three source files, about <paramref name="people"/> × 2 rows in all.</summary>
    public (IReadOnlyList<Person> People, IReadOnlyList<SourceFile> Files) Generate(int people)
    {
        var persons = Enumerable.Range(0, people).Select(NewPerson).ToList();
        var crm = new SourceFile("crm", "customers", "customer_id,first_name,last_name,email,phone,address,city,state,zip,birthdate,gender,updated_at");
        var orders = new SourceFile("shop", "orders", "order_id,customer_name,email,phone,ship_address,ship_city,ship_state,ship_zip,birthdate,amount,ordered_at");
        var loyalty = new SourceFile("loyalty", "members", "member_id,given,surname,email,dob,zip,phone");
        var (customerId, orderId, memberId) = (100000, 5000000, 900000);
        foreach (var p in persons)
        {
            var copies = _random.NextDouble() < 0.75 ? 1 : 0;
            if (_random.NextDouble() < 0.05) copies++;
            for (var c = 0; c < copies; c++)
            {
                var pk = (customerId++).ToString(CultureInfo.InvariantCulture);
                crm.Rows.Add(Csv(pk, Name(p.Given, c > 0), Typo(p.Surname, c > 0 ? 0.3 : 0.03), Email(p, 0.05), Phone(p, 0.15),
                    Address(p, 0.1), Maybe(p.City, 0.05), p.State, Maybe(p.Zip, 0.05), Maybe(p.Birthdate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), 0.1),
                    Maybe(p.Gender, 0.3), Time(2024)));
                crm.Truth.Add((pk, p.Id));
            }
            var orderCount = _random.NextDouble() switch { < 0.35 => 0, < 0.75 => 1, < 0.92 => 2, _ => 3 };
            for (var o = 0; o < orderCount; o++)
            {
                var pk = "o" + (orderId++).ToString(CultureInfo.InvariantCulture);
                var fullName = _random.NextDouble() < 0.1 ? $"{Title(Typo(p.Surname, 0.05))}, {Title(Name(p.Given, false))}" : $"{Title(Name(p.Given, true))} {Title(Typo(p.Surname, 0.05))}";
                orders.Rows.Add(Csv(pk, fullName, Email(p, 0.15), Phone(p, 0.5), Address(p, 0.15), Maybe(p.City, 0.05), p.State, Maybe(p.Zip, 0.05),
                    Maybe(p.Birthdate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), 0.6),
                    (_random.Next(500, 50000) / 100.0).ToString("0.00", CultureInfo.InvariantCulture), Time(2025)));
                orders.Truth.Add((pk, p.Id));
            }
            if (_random.NextDouble() < 0.45)
            {
                var pk = "m" + (memberId++).ToString(CultureInfo.InvariantCulture);
                var email = _random.NextDouble() < 0.1 ? $"{p.Given}{_random.Next(10, 99)}@{Domains[_random.Next(Domains.Length)]}" : Email(p, 0.1);
                loyalty.Rows.Add(Csv(pk, Title(Name(p.Given, true)), Title(Typo(p.Surname, 0.05)), email,
                    Maybe(p.Birthdate.ToString("MM/dd/yyyy", CultureInfo.InvariantCulture), 0.2), Maybe(p.Zip, 0.1), Phone(p, 0.3)));
                loyalty.Truth.Add((pk, p.Id));
            }
        }
        return (persons, [crm, orders, loyalty]);
    }

    /// <summary>
    /// The same file with a share of its rows changed as a person's data changes: a new email, a moved address, a typo
    /// fixed or made; each with a later update time, so an upsert takes it. The rows keep their keys and their person.
    /// </summary>
    public static SourceFile Changed(SourceFile file, double share, int seed)
    {
        var random = new Random(seed);
        var changed = new SourceFile(file.Source, file.Table, file.Header);
        for (var i = 0; i < file.Rows.Count; i++)
        {
            if (random.NextDouble() >= share) continue;
            var fields = SplitCsv(file.Rows[i]);
            switch (file.Table)
            {
                case "customers":
                    fields[3] = $"{fields[1].ToLowerInvariant()}.{fields[2].ToLowerInvariant()}{random.Next(100, 999)}@newmail.example";
                    fields[11] = "2026-06-01 00:00:00";
                    break;
                case "orders":
                    fields[4] = $"{random.Next(1, 9999)} {fields[4].Split(' ', 2).ElementAtOrDefault(1) ?? "main st"}";
                    fields[10] = "2026-06-01 00:00:00";
                    break;
                default:
                    fields[6] = $"{random.Next(201, 989)}{random.Next(200, 999)}{random.Next(0, 10000):D4}";
                    break;
            }
            changed.Rows.Add(Csv(fields));
            changed.Truth.Add(file.Truth[i]);
        }
        return changed;
    }

    private static string[] SplitCsv(string line)
    {
        var values = new List<string>();
        var value = new StringBuilder();
        var quoted = false;
        for (var i = 0; i < line.Length; i++)
        {
            var c = line[i];
            if (quoted)
            {
                if (c != '"') value.Append(c);
                else if (i + 1 < line.Length && line[i + 1] == '"') value.Append(line[++i]);
                else quoted = false;
            }
            else if (c == '"') quoted = true;
            else if (c == ',')
            {
                values.Add(value.ToString());
                value.Clear();
            }
            else value.Append(c);
        }
        values.Add(value.ToString());
        return [.. values];
    }

    private Person NewPerson(int id)
    {
        var given = Given[Skewed(Given.Length)];
        var surname = Surnames[Skewed(Surnames.Length)];
        var place = Places[_random.Next(Places.Length)];
        var birthdate = new DateOnly(1940, 1, 1).AddDays(_random.Next(0, 365 * 65));
        var email = id < KnownEmails.Count ? KnownEmails[id]
            : $"{given}{(_random.NextDouble() < 0.5 ? "." : "")}{surname}{(_random.NextDouble() < 0.6 ? _random.Next(1, 9999).ToString(CultureInfo.InvariantCulture) : "")}@{Domains[_random.Next(Domains.Length)]}";
        // One mailbox per person, as in life: a taken address gets a number.
        while (!_emails.Add(email)) email = email.Insert(email.IndexOf('@'), _random.Next(10, 99).ToString(CultureInfo.InvariantCulture));
        var phone = $"{_random.Next(201, 989)}{_random.Next(200, 999)}{_random.Next(0, 10000):D4}";
        var street = StreetNames[_random.Next(StreetNames.Length)] + " " + StreetTypes[_random.Next(StreetTypes.Length)].Long;
        return new Person(id, given, surname, birthdate, email, phone, _random.Next(1, 9999), street, place.City, place.State, place.Zip,
            _random.NextDouble() < 0.5 ? "F" : "M");
    }

    /// <summary>Index into a list of names, common names first: the first name of the list is about 2-3% of people, the first ten about 10%.</summary>
    private int Skewed(int length) => (int)Math.Min(length - 1, Math.Floor(length * Math.Pow(_random.NextDouble(), 1.6)));

    private string Name(string given, bool mayNickname)
    {
        if (mayNickname && Nicknames.TryGetValue(given, out var nick) && _random.NextDouble() < 0.15) return nick;
        return Typo(given, 0.04);
    }

    private string Email(Person p, double missing)
    {
        if (_random.NextDouble() < missing) return "";
        var roll = _random.NextDouble();
        if (roll < 0.05)
        {
            var at = p.Email.IndexOf('@');
            return $"{p.Email[..at]}+shop{p.Email[at..]}";
        }
        return roll < 0.1 ? p.Email.ToUpperInvariant() : p.Email;
    }

    private string Phone(Person p, double missing)
    {
        if (_random.NextDouble() < missing) return "";
        var d = p.Phone;
        return _random.Next(4) switch
        {
            0 => $"({d[..3]}) {d[3..6]}-{d[6..]}",
            1 => $"{d[..3]}-{d[3..6]}-{d[6..]}",
            2 => $"+1 {d[..3]} {d[3..6]} {d[6..]}",
            _ => d,
        };
    }

    private string Address(Person p, double typo)
    {
        var street = p.Street;
        if (_random.NextDouble() < 0.4)
            foreach (var (longForm, shortForm) in StreetTypes)
                if (street.EndsWith(" " + longForm, StringComparison.Ordinal)) street = street[..^longForm.Length] + shortForm;
        var number = p.HouseNumber.ToString(CultureInfo.InvariantCulture);
        if (_random.NextDouble() < typo / 2) number = _random.Next(1, 9999).ToString(CultureInfo.InvariantCulture);
        return Title($"{number} {Typo(street, typo)}");
    }

    /// <summary>With probability <paramref name="chance"/>: one character replaced, dropped, doubled, or two swapped.</summary>
    private string Typo(string value, double chance)
    {
        if (value.Length < 3 || _random.NextDouble() >= chance) return value;
        var i = _random.Next(1, value.Length - 1);
        return _random.Next(4) switch
        {
            0 => value[..i] + (char)('a' + _random.Next(26)) + value[(i + 1)..],
            1 => value[..i] + value[(i + 1)..],
            2 => value[..i] + value[i] + value[i..],
            _ => value[..(i - 1)] + value[i] + value[i - 1] + value[(i + 1)..],
        };
    }

    private string Maybe(string value, double missing) => _random.NextDouble() < missing ? "" : value;

    private string Time(int year) =>
        new DateTime(year, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddSeconds(_random.Next(0, 365 * 86400)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Title(string value) =>
        string.Join(' ', value.Split(' ').Select(w => w.Length == 0 ? w : char.ToUpperInvariant(w[0]) + w[1..]));

    private static string Csv(params string[] values) =>
        string.Join(',', values.Select(v => v.Contains(',') || v.Contains('"') ? "\"" + v.Replace("\"", "\"\"") + "\"" : v));

    /// <summary>About 3 000 places: a city (a thousand names), its state and a five-digit ZIP code (several ZIP codes per city).</summary>
    private static (string, string, string)[] BuildPlaces()
    {
        string[] starts =
        [
            "spring", "river", "green", "fair", "oak", "maple", "cedar", "lake", "hill", "brook", "clear", "stone", "rock", "sun", "elm",
            "pine", "ash", "wood", "north", "south", "east", "west", "glen", "red", "white", "silver", "gold", "bright", "high", "long",
            "new", "old", "mill", "bridge", "harbor", "bay", "port", "fox", "deer", "eagle",
        ];
        string[] ends =
        [
            "field", "side", "ville", "view", "dale", "wood", "ford", "port", "ton", "burg", "mont", "haven", "land", "crest", "ridge",
            "vale", "wick", "stead", "mouth", "bury", "creek", "falls", "springs", "grove", "park",
        ];
        string[] states = ["WA", "OR", "CA", "TX", "NY", "IL", "MA", "OH", "GA", "FL", "PA", "MI", "NC", "VA", "CO", "AZ", "MN", "WI", "TN", "MO"];
        var random = new Random(7);
        var places = new List<(string, string, string)>();
        foreach (var start in starts)
            foreach (var end in ends)
            {
                var state = states[random.Next(states.Length)];
                for (var z = random.Next(1, 6); z > 0; z--)
                    places.Add((Title(start + end), state, random.Next(10000, 99999).ToString(CultureInfo.InvariantCulture)));
            }
        return [.. places];
    }
}
