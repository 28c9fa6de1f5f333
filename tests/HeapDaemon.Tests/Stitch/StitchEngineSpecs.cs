using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Stitch;
using HeapDaemon.SampleData;
using Xunit;

namespace HeapDaemon.Tests.Stitch;

/// <summary>Matching in memory, on records made here: bad input, bounds on pairs, independence from row order.</summary>
public sealed class StitchEngineSpecs
{
    private static readonly InputTable People = new(0, new DomainTableName("crm", "people"), "crm-people",
    [
        new(ProfileField.GivenName, "given", FieldType.String), new(ProfileField.Surname, "surname", FieldType.String),
        new(ProfileField.Email, "email", FieldType.String), new(ProfileField.Phone, "phone", FieldType.String),
        new(ProfileField.Address, "address", FieldType.String), new(ProfileField.City, "city", FieldType.String),
        new(ProfileField.Postal, "zip", FieldType.String), new(ProfileField.Birthdate, "birthdate", FieldType.String),
    ], null, null, [], null);

    /// <summary>Accounts with a customer key (pk, given, surname, customer key).</summary>
    private static readonly InputTable Accounts = new(1, new DomainTableName("crm", "accounts"), "crm-accounts",
        [new(ProfileField.GivenName, "given", FieldType.String), new(ProfileField.Surname, "surname", FieldType.String)],
        null, null, [new KeyColumn("ck", "customer_key")], null);

    /// <summary>Records of <see cref="People"/> (pk, given, surname, email, phone, address, city, zip, birthdate), in canonical order.</summary>
    private static ProfileRecords Records(IEnumerable<string?[]> rows, StitchSettings? settings = null, IEnumerable<string?[]>? accounts = null)
    {
        settings ??= new StitchSettings();
        var records = new ProfileRecords([People, Accounts]);
        var normalizer = new ProfileNormalizer();
        var reader = new RecordReader(records, normalizer, new BadValues(settings.BadValues, normalizer));
        foreach (var row in rows) reader.Read(People, row[0]!, row[1..], double.NaN, []);
        foreach (var row in accounts ?? []) reader.Read(Accounts, row[0]!, row[1..3], double.NaN, row[3..]);
        var order = Enumerable.Range(0, records.Count).ToArray();
        Array.Sort(order, records.CompareKeys);
        records.Permute(order);
        records.IndexPks();
        return records;
    }

    private static StitchResult Stitch(ProfileRecords records, StitchSettings? settings = null) =>
        StitchEngine.Full(records, settings ?? new StitchSettings(), new StitchInputSet([People, Accounts], [], "test", []), new Guid[records.Count], [], _ => { }, default);

    /// <summary>Generated people as rows of <see cref="People"/>, with their person.</summary>
    private static List<(string?[] Row, int Person)> Generated(int people, int seed)
    {
        var (_, files) = new PeopleGenerator(seed).Generate(people);
        var crm = files[0];
        return crm.Rows.Select((row, i) =>
        {
            var f = row.Split(',');
            return (new string?[] { f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[8], f[9] }, crm.Truth[i].Person);
        }).ToList();
    }

    private static Guid IdOf(StitchResult result, string pk) => result.IdOf(Enumerable.Range(0, result.Records.Count).Single(r => result.Records.PkText(r) == pk));

    private static IEnumerable<Guid> Ids(StitchResult result) => Enumerable.Range(0, result.Records.Count).Select(result.IdOf);

    [Fact]
    public void Records_with_every_profile_field_empty_are_each_their_own_person()
    {
        var rows = Generated(60, 1).Select(g => g.Row).ToList();
        rows.AddRange(Enumerable.Range(0, 5).Select(i => new string?[] { $"empty-{i}", "", null, "  ", null, "", null, null, "" }));

        var result = Stitch(Records(rows));

        var empties = Enumerable.Range(0, 5).Select(i => IdOf(result, $"empty-{i}")).ToList();
        Assert.Equal(5, empties.Distinct().Count());
        foreach (var id in empties) Assert.Single(Ids(result), x => x == id);
    }

    [Fact]
    public void An_email_on_100000_records_is_set_aside_with_a_notice_and_the_pairs_compared_stay_linear()
    {
        var settings = new StitchSettings();
        var rows = Generated(2000, 2).Select(g => g.Row).ToList();
        var random = new Random(5);
        for (var i = 0; i < 100_000; i++)
            rows.Add([$"bulk-{i:D6}", $"n{random.Next(100000)}", $"s{random.Next(100000)}", "Orders@Shop.example", null, null, null, null, null]);
        var records = Records(rows, settings);

        var result = Stitch(records, settings);

        Assert.Contains(result.Notices, n => n.StartsWith("email 'orders@shop.example' is shared by 100000 records", StringComparison.Ordinal));
        // Each record has at most max(maxBlockSize / 2, blockWindow) partners after it per rule, whatever the data.
        var perRecord = Math.Max(settings.MaxBlockSize / 2, settings.BlockWindow) * BlockingRules.All.Count;
        Assert.True(result.Pairs.Count <= (long)records.Count * perRecord, $"{result.Pairs.Count} pairs for {records.Count} records");
        // The shared email links nobody: the bulk records (random names, nothing else) stay apart.
        var bulk = Enumerable.Range(0, records.Count).Where(r => records.PkText(r).StartsWith("bulk-", StringComparison.Ordinal)).ToList();
        Assert.True(bulk.Select(result.IdOf).Distinct().Count() > 99_000);
        Assert.True(result.Pairs.Count < 200_000, $"{result.Pairs.Count} pairs compared; the email's block would have given 5 000 000 000");
    }

    [Fact]
    public void Ids_and_people_do_not_depend_on_the_order_rows_are_read_in()
    {
        var rows = Generated(400, 3).Select(g => g.Row).ToList();
        var forward = Stitch(Records(rows));
        var shuffled = rows.OrderBy(_ => Guid.NewGuid()).ToList();
        var backward = Stitch(Records(Enumerable.Reverse(shuffled)));

        for (var r = 0; r < forward.Records.Count; r++)
            Assert.Equal(forward.IdOf(r), IdOf(backward, forward.Records.PkText(r)));
    }

    private static int Record(ProfileRecords records, string pk) => Enumerable.Range(0, records.Count).Single(r => records.PkText(r) == pk);

    [Fact]
    public void Bad_values_are_missing_values_they_link_nobody_and_the_list_can_be_extended()
    {
        var settings = new StitchSettings { BadValues = StitchSettings.DefaultBadValues.Add("nobody@shop.example") };
        var rows = Generated(200, 7).Select(g => g.Row).ToList();
        rows.AddRange(
        [
            ["bad-1", "Imogen", "Castellano", "TEST@test.com", "555-555-5555", "9 Orchard Way", "Lakeside", "30301", "1982-02-11"],
            ["bad-2", "Bartholomew", "Okonkwo", "test@test.com", "(555) 555-5555", "77 Ridge Road", "Hillcrest", "60601", "1969-09-30"],
            ["bad-3", "Fenella", "Drummond", "nobody@shop.example", null, null, null, null, null],
            ["bad-4", "Augustin", "Varga", "Nobody@Shop.example", null, null, null, null, null],
            ["bad-5", "N/A", "unknown", "test@test.com", "555-555-5555", null, null, null, "1900-01-01"],
        ]);
        List<string?[]> accounts =
        [
            ["acct-1", "Perpetua", "Lindqvist", "n/a"], ["acct-2", "Ignatius", "Moreau", "N/A"],
            ["acct-3", "Perpetua", "Lindqvist", "C-1001"], ["acct-4", "Perpetua", "L.", "C-1001"],
        ];
        var records = Records(rows, settings, accounts);

        var result = Stitch(records, settings);

        foreach (var pk in new[] { "bad-1", "bad-2", "bad-5" })
        {
            Assert.True(records.Key(ProfileField.Email, Record(records, pk)) < 0, $"{pk}'s email is a bad value");
            Assert.True(records.Key(ProfileField.Phone, Record(records, pk)) < 0, $"{pk}'s phone is a bad value");
        }
        Assert.True(records.Key(ProfileField.Email, Record(records, "bad-3")) < 0, "an email added to badValues is a bad value");
        Assert.True(records.IsEmpty(Record(records, "bad-5")), "a record of bad values only is empty");
        var ids = new[] { "bad-1", "bad-2", "bad-3", "bad-4", "bad-5", "acct-1", "acct-2" }.Select(pk => IdOf(result, pk)).ToList();
        Assert.Equal(ids.Count, ids.Distinct().Count());
        // A customer key that is not a bad value links its records outright.
        Assert.Equal(IdOf(result, "acct-3"), IdOf(result, "acct-4"));
    }

    [Fact]
    public void A_person_with_more_records_than_maxClusterSize_is_reported()
    {
        var settings = new StitchSettings(MaxClusterSize: 2);
        var rows = Generated(100, 8).Select(g => g.Row).ToList();
        rows.AddRange(Enumerable.Range(1, 3).Select(i =>
            new string?[] { $"many-{i}", "Leopoldine", "Harcourt", "leopoldine.harcourt@example.org", null, "3 Mill Lane", "Ashford", "24017", "1977-04-04" }));

        var result = Stitch(Records(rows, settings), settings);

        Assert.Equal(IdOf(result, "many-1"), IdOf(result, "many-3"));
        Assert.Contains(result.Notices, n => n.StartsWith("a person has 3 records (more than maxClusterSize, 2), e.g. crm:people:many-1", StringComparison.Ordinal));
    }

    [Fact]
    public void Names_in_other_scripts_and_with_emoji_are_normalised_compared_and_matched()
    {
        var rows = Generated(300, 4).Select(g => g.Row).ToList();
        rows.AddRange(
        [
            ["ru-1", "Владимир", "Ковалёв", "vk@example.ru", null, "ул. Ленина 5", "Москва", "101000", "1970-01-02"],
            ["ru-2", "ВЛАДИМИР", "Ковалёв", null, null, "ул. Ленина 5", "Москва", "101000", "1970-01-02"],
            ["zh-1", "伟", "张", "zhang.wei@example.cn", null, "朝阳路 8号", "北京", "100020", "1988-08-08"],
            ["zh-2", "伟", "张", "zhang.wei@example.cn", null, null, "北京", null, null],
            ["emoji-1", "José 😀", "García 🎉", "jose@example.es", null, "Calle Mayor 3", "Madrid", "28013", "1990-05-05"],
            ["emoji-2", "jose", "GARCIA", "jose@example.es", null, null, "Madrid", "28013", "1990-05-05"],
            ["emoji-only", "😀😀", "🎉", null, null, null, null, null, null],
        ]);
        var records = Records(rows);

        var result = Stitch(records);

        Assert.Equal(IdOf(result, "ru-1"), IdOf(result, "ru-2"));
        Assert.Equal(IdOf(result, "zh-1"), IdOf(result, "zh-2"));
        Assert.Equal(IdOf(result, "emoji-1"), IdOf(result, "emoji-2"));
        Assert.NotEqual(IdOf(result, "ru-1"), IdOf(result, "zh-1"));
        var emojiOnly = Enumerable.Range(0, records.Count).Single(r => records.PkText(r) == "emoji-only");
        Assert.True(records.IsEmpty(emojiOnly), "a name of emoji only is no name");
        Assert.Single(Ids(result), id => id == result.IdOf(emojiOnly));
        var ru = Enumerable.Range(0, records.Count).First(r => records.PkText(r) == "ru-2");
        Assert.Equal("владимир", records.KeyText(ProfileField.GivenName, ru).ToString());
        Assert.Equal("ВЛАДИМИР", records.Display(ProfileField.GivenName, ru));
    }

    [Fact]
    public void Generated_people_are_found_with_high_precision_and_recall()
    {
        var generated = Generated(3000, 6);
        var records = Records(generated.Select(g => g.Row));
        var truth = generated.ToDictionary(g => g.Row[0]!, g => g.Person);

        var result = Stitch(records);

        var ids = Enumerable.Range(0, records.Count).ToDictionary(records.PkText, r => result.IdOf(r));
        var (precision, recall) = StitchSpecs.PairwiseScore(ids, truth);
        Assert.True(precision >= 0.95 && recall >= 0.95, $"precision {precision:F3}, recall {recall:F3}");
    }
}
