using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Couriers;

/// <summary>
/// Couriers with dated filename patterns over date ranges, against moto and PostgreSQL. The class shares one daemon;
/// each test lists a bucket of its own (through a credential of its own) and loads into a source of its own.
/// </summary>
public sealed class PatternRunSpecs : ClassDaemonSpecs<PatternRunSpecs>
{
    private const string Header = "user_id,email,joined_at,score\n";
    private const string Daily = "'exports/'yyyy'/'MM'/'dd'/users_*.csv'";
    private readonly string _tag = $"t{Guid.NewGuid():N}"[..12];
    private string _bucket = "";
    private int _userId;

    private string Feed => $"{_tag}-users";

    private string Table => $"{_tag}.users";

    /// <summary>The test's courier of that name.</summary>
    private string Courier(string id) => $"{id}-{_tag}";

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _bucket = await TestEnvironment.CreateBucketAsync(S3);
    }

    [Fact]
    public async Task A_three_day_range_loads_each_days_files_in_day_order_then_key_order_and_not_the_end_day()
    {
        await PutUsersAsync("exports/2026/11/24/users_b.csv", "exports/2026/11/24/users_a.csv", "exports/2026/11/25/users_a.csv",
            "exports/2026/11/26/users_a.csv", "exports/2026/11/27/users_a.csv", "exports/2026/11/23/users_a.csv");
        await CreatePatternCourierAsync("daily", new { pattern = Daily, feedId = Feed });

        var run = await Api.RunAsync(Courier("daily"), new { from = "2026-11-24", to = "2026-11-27" });

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal("2026-11-24", run.GetProperty("runDate").GetString());
        Assert.Equal("2026-11-27", run.GetProperty("runDateTo").GetString());
        Assert.Equal(["exports/2026/11/24/users_a.csv", "exports/2026/11/24/users_b.csv", "exports/2026/11/25/users_a.csv", "exports/2026/11/26/users_a.csv"],
            Keys(run));
        Assert.All(Files(run), f => Assert.Equal("loaded", f.GetProperty("status").GetString()));
        // Loaded one after another in that order.
        var started = Files(run).Select(f => f.GetProperty("startedAt").GetDateTimeOffset()).ToList();
        Assert.Equal(started.Order(), started);
        Assert.Equal(4L, (await QueryAsync($"SELECT count(*) AS n FROM {Table}"))[0]["n"]);
    }

    [Fact]
    public async Task Within_a_day_entries_load_in_their_configured_order_then_the_next_day()
    {
        await PutUsersAsync("b/20261124.csv", "a/20261124.csv", "b/20261125.csv", "a/20261125.csv");
        await CreatePatternCourierAsync("two-entries",
            new { pattern = "'b/'yyyyMMdd'.csv'", feedId = Feed },
            new { pattern = "'a/'yyyyMMdd'.csv'", feedId = Feed });

        var run = await Api.RunAsync(Courier("two-entries"), new { from = "2026-11-24", to = "2026-11-26" });

        Assert.Equal(["b/20261124.csv", "a/20261124.csv", "b/20261125.csv", "a/20261125.csv"], Keys(run));
    }

    [Fact]
    public async Task A_required_pattern_with_a_day_missing_fails_the_run_naming_pattern_and_date_and_loads_nothing()
    {
        await PutUsersAsync("exports/2026/11/24/users_1.csv", "exports/2026/11/26/users_1.csv");
        await CreatePatternCourierAsync("gap", new { pattern = Daily, feedId = Feed });

        var run = await Api.RunAsync(Courier("gap"), new { from = "2026-11-24", to = "2026-11-27" });

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("message").GetString()!;
        Assert.Contains($"required file missing: no object matches pattern \"{Daily}\" for 2026-11-25 (s3://{_bucket}/exports/2026/11/25/users_*.csv)", message);
        Assert.Contains("skipMissingFiles", message);
        var missing = Assert.Single(Files(run));
        Assert.Equal("missing", missing.GetProperty("status").GetString());
        Assert.Equal("exports/2026/11/25/users_*.csv", missing.GetProperty("key").GetString());
        Assert.Empty(await QueryAsync($"SELECT * FROM {Table}"));
    }

    [Fact]
    public async Task With_skipMissingFiles_the_days_that_are_there_load_and_the_missing_day_is_recorded()
    {
        await PutUsersAsync("exports/2026/11/24/users_1.csv", "exports/2026/11/26/users_1.csv");
        await CreatePatternCourierAsync("gap", new { pattern = Daily, feedId = Feed });

        var run = await Api.RunAsync(Courier("gap"), new { from = "2026-11-24", to = "2026-11-27", skipMissingFiles = true });

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(["loaded", "loaded", "missing"], Files(run).Select(f => f.GetProperty("status").GetString()));
        Assert.EndsWith("(skipped: skipMissingFiles)", Files(run)[2].GetProperty("message").GetString());
        Assert.Contains("1 not found", run.GetProperty("message").GetString());
        Assert.Equal(2L, (await QueryAsync($"SELECT count(*) AS n FROM {Table}"))[0]["n"]);
    }

    [Fact]
    public async Task An_optional_entry_that_finds_nothing_is_noted_and_the_run_goes_on()
    {
        await PutUsersAsync("exports/2026/11/24/users_1.csv");
        await CreatePatternCourierAsync("optional",
            new { pattern = Daily, feedId = Feed },
            new { pattern = "'extras/'yyyyMMdd'.csv'", feedId = Feed, optional = true });

        var run = await Api.RunAsync(Courier("optional"), new { date = "2026-11-24" });

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal("missing", Files(run)[1].GetProperty("status").GetString());
        Assert.StartsWith("optional file not found: no object matches pattern", Files(run)[1].GetProperty("message").GetString());
    }

    [Fact]
    public async Task When_every_entry_is_optional_and_none_finds_anything_the_run_fails()
    {
        await CreatePatternCourierAsync("all-optional", new { pattern = Daily, feedId = Feed, optional = true });

        var run = await Api.RunAsync(Courier("all-optional"), new { date = "2026-11-24" });

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("none of the courier's files was found for 2026-11-24 (all are optional, and at least one must be there)", run.GetProperty("message").GetString());
    }

    [Fact]
    public async Task Wildcards_do_not_cross_folders_and_a_wildcard_folder_is_listed_level_by_level()
    {
        await PutUsersAsync("exports/2026/11/24/users_1.csv", "exports/2026/11/24/users_x/nested.csv", "exports/2026/11/24/users_2.csv.bak",
            "tenants/b/20261124.csv", "tenants/a/20261124.csv", "tenants/a/deeper/20261124.csv", "tenants/c/20261125.csv");
        await CreatePatternCourierAsync("wild",
            new { pattern = Daily, feedId = Feed },
            new { pattern = "'tenants/'*'/'yyyyMMdd'.csv'", feedId = Feed });

        var run = await Api.RunAsync(Courier("wild"), new { date = "2026-11-24" });

        Assert.Equal(["exports/2026/11/24/users_1.csv", "tenants/a/20261124.csv", "tenants/b/20261124.csv"], Keys(run));
    }

    [Fact]
    public async Task A_literal_quote_in_a_pattern_finds_a_key_with_a_quote()
    {
        await PutUsersAsync("o'brien/2026-11-24.csv");
        await CreatePatternCourierAsync("quote", new { pattern = "'o''brien/'yyyy-MM-dd'.csv'", feedId = Feed });

        var run = await Api.RunAsync(Courier("quote"), new { date = "2026-11-24" });

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(["o'brien/2026-11-24.csv"], Keys(run));
    }

    [Fact]
    public async Task Keys_with_spaces_unicode_and_regex_characters_are_matched_as_text()
    {
        await PutUsersAsync("odd dir/2026-ünï (1).csv", "odd dir/2026-x.csv.gz", "odd dirX/2026-a.csv");
        await CreatePatternCourierAsync("odd", new { pattern = "'odd dir/'yyyy'-*.csv'", feedId = Feed });

        var run = await Api.RunAsync(Courier("odd"), new { date = "2026-11-24" });

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(["odd dir/2026-ünï (1).csv"], Keys(run));
        Assert.Equal($"s3://{_bucket}/odd dir/2026-ünï (1).csv", (await QueryAsync($"SELECT _source_file FROM {Table}"))[0]["_source_file"]);
    }

    [Fact]
    public async Task An_undated_entry_is_loaded_once_in_a_range_with_the_first_day()
    {
        await PutUsersAsync("static/lookup.csv", "exports/2026/11/24/users_1.csv", "exports/2026/11/25/users_1.csv");
        await CreatePatternCourierAsync("undated",
            new { pattern = Daily, feedId = Feed },
            new { key = "static/lookup.csv", feedId = Feed });

        var run = await Api.RunAsync(Courier("undated"), new { from = "2026-11-24", to = "2026-11-26" });

        Assert.Equal(["exports/2026/11/24/users_1.csv", "static/lookup.csv", "exports/2026/11/25/users_1.csv"], Keys(run));
    }

    [Theory]
    [InlineData("""{"from":"2026-11-26","to":"2026-11-26"}""", "to (2026-11-26) must be after from (2026-11-26)")]
    [InlineData("""{"from":"2026-11-26"}""", "from and to go together")]
    [InlineData("""{"date":"2026-11-26","from":"2026-11-20","to":"2026-11-21"}""", "give either date, or from and to, not both")]
    [InlineData("""{"from":"2020-01-01","to":"2026-01-01"}""", "a run covers at most 366 days; 2020-01-01 to 2026-01-01 (exclusive) is 2192. Split it into several runs")]
    [InlineData("""{"date":"0001-01-01"}""", "date 0001-01-01 is before 1970-01-01")]
    [InlineData("""{"from":"1969-12-31","to":"1970-01-02"}""", "from 1969-12-31 is before 1970-01-01")]
    [InlineData("""{"date":"9999-12-31"}""", "date 9999-12-31 is after the end of next year")]
    public async Task A_date_range_that_makes_no_sense_is_refused_with_the_reason(string body, string reason)
    {
        await CreatePatternCourierAsync("daily", new { pattern = Daily, feedId = Feed });

        var response = await Api.PostAsync($"/api/couriers/{Courier("daily")}/runs", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
        Assert.Empty(await QueryAsync($"SELECT * FROM heapd.runs WHERE courier_id = '{Courier("daily")}'"));
    }

    [Theory]
    [InlineData("""{"pattern":"'exports/'YYYY'.csv'","feedId":"heap-users"}""", "'YYYY' at position 11 is not a date component")]
    [InlineData("""{"key":"a.csv","pattern":"'a.csv'","feedId":"heap-users"}""", "give either key (one object) or pattern")]
    [InlineData("""{"feedId":"heap-users"}""", "give either key (one object) or pattern")]
    public async Task A_file_entry_that_is_not_valid_is_refused(string entry, string reason)
    {
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync();

        var response = await Api.PostAsync("/api/couriers", new StringContent($$"""{"id":"bad","credentialId":"moto","files":[{{entry}}]}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
    }

    private async Task CreatePatternCourierAsync(string id, params object[] files)
    {
        await EnsureCredentialAsync(_tag, new { id = _tag, kind = "s3", bucket = _bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });
        await EnsureUsersFeedAsync(source: _tag);
        var response = await Api.PostAsJsonAsync("/api/couriers", new { id = Courier(id), credentialId = _tag, files }, DaemonHost.Json);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Each file one distinct user, so every load inserts a row.</summary>
    private async Task PutUsersAsync(params string[] keys)
    {
        foreach (var key in keys)
            await TestEnvironment.PutAsync(S3, _bucket, key, Header + $"{++_userId},u{_userId}@example.com,2026-11-01T00:00:00Z,1\n");
    }

    private static List<JsonElement> Files(JsonElement run) => run.GetProperty("files").EnumerateArray().ToList();

    private static List<string> Keys(JsonElement run) => Files(run).Select(f => f.GetProperty("key").GetString()!).ToList();
}
