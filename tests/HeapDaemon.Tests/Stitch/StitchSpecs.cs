using System.Net;
using System.Net.Http.Json;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Operations;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Stitch;

/// <summary>Stitch through the daemon: tagged feeds loaded by couriers, stitched on request, read back from schema stitch.</summary>
public sealed class StitchSpecs : DaemonSpecs
{
    /// <summary>Stitches only when a test asks: a stitch after the loads, 30 s on, would change what the tests count.</summary>
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Api.PostOkAsync("/api/stitch/settings", new { runAfterLoads = false });
    }

    private static (IReadOnlyList<Person> People, IReadOnlyList<SourceFile> Files) Generate(int people = 200, int seed = 3) =>
        new PeopleGenerator(seed).Generate(people);

    [Fact]
    public async Task Records_of_one_person_across_the_crm_orders_and_loyalty_share_one_amperity_id_and_one_customer_row()
    {
        var (people, files) = Generate();
        await EnsureMotoCredentialAsync();
        await StitchSources.LoadAsync(Api, S3, Bucket, files);

        var run = await Api.StitchAsync();

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var statistics = run.GetProperty("statistics");
        Assert.StartsWith("full", statistics.GetProperty("ran").GetString());
        var ids = await StitchSources.IdsAsync(QueryAsync);
        var truth = files.SelectMany(f => f.Truth.Select(t => (Key: (f.Source, f.Table, t.Pk), t.Person))).ToDictionary(t => t.Key, t => t.Person);
        Assert.Equal(truth.Count, ids.Count);
        var (precision, recall) = PairwiseScore(ids, truth);
        Assert.True(precision >= 0.97 && recall >= 0.97, $"precision {precision:F3}, recall {recall:F3}");

        // One customer row per person, its record count and sources matching unified_coalesced.
        var customers = await QueryAsync("SELECT amperity_id, record_count, sources, given_name, surname, email FROM stitch.merged_customers");
        Assert.Equal(ids.Values.Distinct().Count(), customers.Count);
        var counts = ids.GroupBy(kv => kv.Value).ToDictionary(g => g.Key, g => g.Count());
        foreach (var customer in customers) Assert.Equal(counts[(Guid)customer["amperity_id"]!], (int)customer["record_count"]!);
        Assert.Contains(customers, c => ((string[])c["sources"]!).Length == 3);
        Assert.All(customers, c => Assert.NotNull(c["surname"]));

        // The daemon's metrics count the stitch and show the size of its result (a stitch after the loads may have followed).
        var metrics = await Daemon.CreateClient().GetStringAsync("/metrics");
        Assert.True(OperationsSpecs.Sample(metrics, "heapd_stitch_runs_total{status=\"succeeded\"}") >= 1, metrics);
        Assert.True(OperationsSpecs.Sample(metrics, "heapd_stitch_duration_seconds_count{kind=\"full\"}") >= 1, metrics);
        Assert.Equal(ids.Count, OperationsSpecs.Sample(metrics, "heapd_stitch_records"));
        Assert.Equal(customers.Count, OperationsSpecs.Sample(metrics, "heapd_stitch_people"));
    }

    private static async Task<string> DetailAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("detail").GetString()!;
    }

    [Fact]
    public async Task The_explain_endpoint_shows_a_records_person_the_pairs_that_joined_them_and_the_customer_row()
    {
        var (_, files) = Generate(people: 120, seed: 5);
        await EnsureMotoCredentialAsync();
        await StitchSources.LoadAsync(Api, S3, Bucket, files);
        await Api.StitchAsync();
        var person = (await QueryAsync("""
            SELECT u.source, u.feed, u.pk, u.amperity_id FROM stitch.unified_coalesced u JOIN stitch.merged_customers c USING (amperity_id)
            WHERE c.record_count >= 3 ORDER BY u.source, u.feed, u.pk LIMIT 1
            """)).Single();

        var explanation = await Api.GetOkAsync($"/api/stitch/records/{person["source"]}/{person["feed"]}/{person["pk"]}");

        Assert.Equal(person["amperity_id"]!.ToString(), explanation.GetProperty("record").GetProperty("amperityId").GetString());
        Assert.True(explanation.GetProperty("records").GetArrayLength() >= 3);
        var matched = explanation.GetProperty("pairs").EnumerateArray().Where(p => p.GetProperty("matched").GetBoolean()).ToList();
        Assert.NotEmpty(matched);
        Assert.All(matched, p => Assert.True(p.GetProperty("matchProbability").GetDouble() >= 0.9));
        Assert.Contains(matched, p => p.GetProperty("exact").GetArrayLength() > 0);
        Assert.Equal(person["amperity_id"]!.ToString(), explanation.GetProperty("customer").GetProperty("amperity_id").GetString());
        var inCapitals = await Api.GetOkAsync($"/api/stitch/records/{((string)person["source"]!).ToUpperInvariant()}/{((string)person["feed"]!).ToUpperInvariant()}/{person["pk"]}");
        Assert.Equal(person["amperity_id"]!.ToString(), inCapitals.GetProperty("record").GetProperty("amperityId").GetString());

        var missing = await Api.GetAsync("/api/stitch/records/crm/customers/no-such-key");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no stitched record crm.customers with primary key 'no-such-key'", await missing.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Settings_have_documented_defaults_change_in_part_and_refuse_bad_values_in_the_users_words()
    {
        var defaults = await Api.GetOkAsync("/api/stitch/settings");
        Assert.Equal(0.9, defaults.GetProperty("matchThreshold").GetDouble());
        Assert.Contains("test@test.com", defaults.GetProperty("badValues").EnumerateArray().Select(v => v.GetString()));

        var changed = await Api.PostOkAsync("/api/stitch/settings", new { matchThreshold = 0.8, sourcePriority = new[] { "crm", "shop.orders" } });
        Assert.Equal(0.8, changed.GetProperty("matchThreshold").GetDouble());
        Assert.Equal(1000, changed.GetProperty("maxRecordsPerValue").GetInt32());
        Assert.Equal(0.8, (await Api.GetOkAsync("/api/stitch/settings")).GetProperty("matchThreshold").GetDouble());

        var invalid = await Api.PostAsJsonAsync("/api/stitch/settings", new
        {
            matchThreshold = 1.5, defaultPhoneRegion = "Narnia", comparedTags = new[] { "email", "phone-number" }, sourcePriority = new[] { "crm.customers.x" },
            badValues = new[] { "n/a", " " }, maxBlockSize = 1, debounceSeconds = -1, schedule = new { cron = "every day", timeZone = "Mars/Olympus" },
        });
        Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        var errors = (await invalid.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("errors").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.Equal(
        [
            "matchThreshold: 1.5 is not valid: expected a probability above 0 and below 1",
            "comparedTags[1]: \"phone-number\" is not valid: expected one of: given-name, surname, birthdate, email, phone, address, address2, city, state, postal, gender, full-name",
            "sourcePriority[0]: \"crm.customers.x\" is not valid: expected a source (crm) or one of its tables (crm.customers)",
            "badValues[1]: \" \" is not valid: expected a value that is not empty",
            "maxBlockSize: 1 is not valid: expected a whole number from 2 to 10000",
            "defaultPhoneRegion: \"Narnia\" is not valid: expected a region libphonenumber knows: an ISO 3166 code such as US, GB, FR",
            "debounceSeconds: -1 is not valid: expected a whole number of seconds from 0 to 86400",
        ], errors.Take(7));
        Assert.Contains(errors, e => e!.StartsWith("schedule.cron 'every day' is not a 5-field cron expression", StringComparison.Ordinal));
        Assert.Contains(errors, e => e!.StartsWith("schedule.timeZone 'Mars/Olympus' is not an IANA time zone", StringComparison.Ordinal));

        // A value of the wrong type, and a schedule without its cron, are named as written.
        var wrongType = await Api.PostAsJsonAsync("/api/stitch/settings", new { maxBlockSize = "20" });
        Assert.Contains("maxBlockSize: \"20\" is not valid: expected a whole number", await DetailAsync(wrongType));
        var noCron = await Api.PostAsJsonAsync("/api/stitch/settings", new { schedule = new { timeZone = "UTC" } });
        Assert.Contains("schedule.cron: required, but missing", await DetailAsync(noCron));

        var unknown = await Api.PostAsJsonAsync("/api/stitch/settings", new { matchTreshold = 0.5 });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Equal(0.8, (await Api.GetOkAsync("/api/stitch/settings")).GetProperty("matchThreshold").GetDouble());
    }

    /// <summary>
    /// A table with an fk field gets Stitch's <c>&lt;table&gt;_customers</c> view; the view is the daemon's, so deleting the
    /// feed with its table drops it too, where a view of the user's refuses the drop.
    /// </summary>
    [Fact]
    public async Task A_feed_whose_table_has_Stitchs_customers_view_can_be_deleted_with_its_table()
    {
        var (_, files) = Generate(people: 40, seed: 6);
        await EnsureMotoCredentialAsync();
        await StitchSources.LoadAsync(Api, S3, Bucket, files.Take(1));
        await Api.PostOkAsync("/api/feeds", new
        {
            source = "shop", name = "visits",
            fields = new object[] { new { name = "visit_id", type = "string", primaryKey = true }, new { name = "customer_id", type = "string", tags = new[] { "fk-crm" } } },
        });
        await Api.PostOkAsync("/api/feeds/shop-visits/activate");
        await Api.StitchAsync();
        Assert.NotEmpty(await QueryAsync("SELECT 1 FROM pg_views WHERE schemaname = 'shop' AND viewname = 'visits_customers'"));

        var deleted = await Api.DeleteAsync("/api/feeds/shop-visits?dropTable=true");

        Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        Assert.True((await deleted.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("tableDropped").GetBoolean());
        Assert.Empty(await QueryAsync("SELECT 1 FROM pg_class WHERE relname IN ('visits', 'visits_customers')"));
    }

    /// <summary>
    /// A pageview's city and country say where, not who: a table tagged only with place fields (here by the names'
    /// suggestions) would make every row a person of its own, so it stays out of Stitch with a notice saying why, and
    /// its fk still gets its view.
    /// </summary>
    [Fact]
    public async Task A_table_tagged_only_with_place_fields_is_no_profile_source_and_its_rows_make_no_customers()
    {
        var (_, files) = Generate(people: 40, seed: 7);
        await EnsureMotoCredentialAsync();
        await StitchSources.LoadAsync(Api, S3, Bucket, files.Take(1));
        await LoadCsvAsync("web", "visits", "visit_id,customer_id,city,country\nv1,c1,Berlin,DE\nv2,c2,Paris,FR\nv3,c1,Berlin,DE\n",
            new { name = "visit_id", type = "string", primaryKey = true }, new { name = "customer_id", type = "string", tags = new[] { "fk-crm" } },
            new { name = "city", type = "string" }, new { name = "country", type = "string" });
        var feed = await Api.GetFromJsonAsync<System.Text.Json.JsonElement>("/api/feeds/web-visits");
        Assert.Contains(feed.GetProperty("feed").GetProperty("fields").EnumerateArray(), f => f.GetProperty("tags").EnumerateArray().Any(t => t.GetString() == "city"));

        var run = await Api.StitchAsync();

        var ids = await StitchSources.IdsAsync(QueryAsync);
        Assert.DoesNotContain(ids.Keys, k => k.Source == "web");
        Assert.Equal(files[0].Truth.Count, ids.Count);
        var notices = run.GetProperty("statistics").GetProperty("notices").EnumerateArray().Select(n => n.GetString()!).ToList();
        Assert.Contains(notices, n => n.StartsWith("web.visits is not a profile source: city, country", StringComparison.Ordinal));
        Assert.Equal(3L, (await QueryAsync("SELECT count(*) AS n FROM web.visits_customers"))[0]["n"]);
    }

    /// <summary>
    /// Any table with an fk field gets its person, not only Heap's: a basket points at a member by the member's key, and
    /// <c>shop.baskets_customers</c> gives each basket that member's amperity_id; a key no member has gives none.
    /// </summary>
    [Fact]
    public async Task A_files_table_with_an_fk_field_gets_a_customers_view_giving_each_row_the_person_its_key_points_at()
    {
        await EnsureMotoCredentialAsync();
        await LoadCsvAsync("crm", "members", "member_id,email,full_name\nm1,ann@example.com,Ann Lee\nm2,bob@example.com,Bob Stone\n",
            new { name = "member_id", type = "string", primaryKey = true, tags = new[] { "pk", "fk-crm" } },
            new { name = "email", type = "string" }, new { name = "full_name", type = "string" });
        await LoadCsvAsync("shop", "baskets", "basket_id,member_id,amount\nb1,m1,10\nb2,m2,20\nb3,m1,30\nb4,m9,40\nb5,,50\n",
            new { name = "basket_id", type = "string", primaryKey = true }, new { name = "member_id", type = "string", tags = new[] { "fk-crm" } },
            new { name = "amount", type = "integer" });

        await Api.StitchAsync();

        var members = (await QueryAsync("SELECT pk, amperity_id FROM stitch.unified_coalesced WHERE source = 'crm' AND feed = 'members'"))
            .ToDictionary(r => (string)r["pk"]!, r => (Guid)r["amperity_id"]!);
        Assert.NotEqual(members["m1"], members["m2"]);
        var baskets = (await QueryAsync("SELECT basket_id, amperity_id FROM shop.baskets_customers"))
            .ToDictionary(r => (string)r["basket_id"]!, r => r["amperity_id"] as Guid?);
        Assert.Equal(new Dictionary<string, Guid?> { ["b1"] = members["m1"], ["b2"] = members["m2"], ["b3"] = members["m1"], ["b4"] = null, ["b5"] = null }, baskets);
    }

    private async Task LoadCsvAsync(string source, string name, string csv, params object[] fields)
    {
        var id = $"{source}-{name}";
        await Api.PostOkAsync("/api/feeds", new { source, name, fields });
        await Api.PostOkAsync($"/api/feeds/{id}/activate");
        await TestEnvironment.PutAsync(S3, Bucket, $"{id}.csv", csv);
        await Api.PostOkAsync("/api/couriers", new { id, credentialId = "moto", files = new[] { new { key = $"{id}.csv", feedId = id } } });
        var run = await Api.RunAsync(id);
        Assert.True(run.GetProperty("status").GetString() == "succeeded", $"loading {id}: {run}");
    }

    /// <summary>Pairwise precision and recall of the stitched people against the generator's truth.</summary>
    public static (double Precision, double Recall) PairwiseScore<TKey>(IReadOnlyDictionary<TKey, Guid> ids, IReadOnlyDictionary<TKey, int> truth) where TKey : notnull
    {
        static long Pairs(IEnumerable<int> sizes) => sizes.Sum(n => (long)n * (n - 1) / 2);
        var found = Pairs(ids.GroupBy(kv => kv.Value).Select(g => g.Count()));
        var correct = Pairs(ids.GroupBy(kv => (kv.Value, truth[kv.Key])).Select(g => g.Count()));
        var expected = Pairs(truth.GroupBy(kv => kv.Value).Select(g => g.Count()));
        return (found == 0 ? 1 : correct / (double)found, expected == 0 ? 1 : correct / (double)expected);
    }
}
