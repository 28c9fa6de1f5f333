using System.Net;
using System.Net.Http.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>The feed editor: tags, formats, migrations of an active feed, schema drift and the error threshold.</summary>
public sealed class FeedEditorSpecs : DaemonSpecs
{
    private const string Header = "user_id,email,joined_at,score\n";

    [Fact]
    public async Task Tags_are_suggested_from_field_names_and_kept_when_given()
    {
        var feed = await Api.PostOkAsync("/api/feeds", new
        {
            source = "crm",
            name = "people",
            fields = new object[]
            {
                new { name = "person_id", type = "integer", primaryKey = true },
                new { name = "Email_Address", type = "string" },
                new { name = "first_name", type = "string" },
                new { name = "zip", type = "string" },
                new { name = "DOB", type = "date" },
                new { name = "last_modified", type = "datetime" },
                new { name = "loyalty_id", type = "string", tags = new[] { "fk-loyalty-id" } },
                new { name = "notes", type = "string", tags = Array.Empty<string>() },
            },
            lastUpdatedField = "last_modified",
        });

        var tags = feed.GetProperty("feed").GetProperty("fields").EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!, f => string.Join(",", f.GetProperty("tags").EnumerateArray().Select(t => t.GetString())));
        Assert.Equal("pk", tags["person_id"]);
        Assert.Equal("email", tags["Email_Address"]);
        Assert.Equal("given-name", tags["first_name"]);
        Assert.Equal("postal", tags["zip"]);
        Assert.Equal("birthdate", tags["DOB"]);
        Assert.Equal("update-dt", tags["last_modified"]);
        Assert.Equal("fk-loyalty-id", tags["loyalty_id"]);
        Assert.Equal("", tags["notes"]);
    }

    [Theory]
    [InlineData("fk", "string", "tag 'fk' needs a namespace")]
    [InlineData("birthdate", "boolean", "tag 'birthdate' needs type Date or String, not Boolean")]
    [InlineData("Not A Tag", "string", "tag 'Not A Tag' must be lowercase words")]
    [InlineData("pk", "string", "tag 'pk' is only for primary-key fields")]
    public async Task A_tag_that_does_not_fit_its_field_is_refused(string tag, string type, string reason)
    {
        var response = await Api.PostAsJsonAsync("/api/feeds", new
        {
            source = "crm",
            name = "people",
            fields = new object[] { new { name = "id", type = "integer", primaryKey = true }, new { name = "x", type, tags = new[] { tag } } },
        });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Dates_are_read_in_the_fields_own_format_or_in_Amperitys_fallback_order()
    {
        await Api.PostOkAsync("/api/feeds", new
        {
            source = "shop",
            name = "orders",
            errorThresholdPercent = 50,
            fields = new object[]
            {
                new { name = "order_id", type = "integer", primaryKey = true },
                new { name = "placed", type = "datetime", format = "dd/MM/yyyy HH:mm" },
                new { name = "shipped", type = "date" },
                new { name = "seen", type = "datetime" },
            },
        });
        await Api.PostOkAsync("/api/feeds/shop-orders/activate");
        await TestEnvironment.PutAsync(S3, Bucket, "orders.csv", """
            order_id,placed,shipped,seen
            1,26/11/2026 13:45,20261126,2026-11-26 13:45:00.123
            2,01/02/2026 00:00,11/26/2026,26-Nov-2026 08:00
            3,2026-11-26 13:45,2026-11-26,2026-11-26T13:45:00+01:00
            """);
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "orders", credentialId = "moto", files = new[] { new { key = "orders.csv", feedId = "shop-orders" } } });

        var run = await Api.RunAsync("orders", new { forceReload = true });

        var rows = await QueryAsync("SELECT order_id, placed, shipped, seen FROM shop.orders ORDER BY order_id");
        Assert.Equal(
            ["1 2026-11-26T13:45:00.000 2026-11-26 2026-11-26T13:45:00.123", "2 2026-02-01T00:00:00.000 2026-11-26 2026-11-26T08:00:00.000"],
            rows.Select(r => $"{r["order_id"]} {(DateTime)r["placed"]!:yyyy-MM-dd'T'HH:mm:ss.fff} {(DateOnly)r["shipped"]!:yyyy-MM-dd} {(DateTime)r["seen"]!:yyyy-MM-dd'T'HH:mm:ss.fff}"));
        var reject = Assert.Single((await Api.GetOkAsync($"/api/runs/{run.GetProperty("id").GetGuid()}/rejects")).EnumerateArray());
        Assert.Equal("field 'placed': '2026-11-26 13:45' is not a Datetime (expected format 'dd/MM/yyyy HH:mm')", reject.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task An_active_feed_gains_columns_keeps_its_key_and_changes_its_key_only_with_purge()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", Header + "1,a@example.com,2026-11-01T00:00:00Z,1\n");
        await CreateCourierAsync("users", "users.csv");
        await Api.RunAsync("users");
        var feed = UsersFeedWith(new { name = "country", type = "string" });

        var widened = await Api.PutAsJsonAsync("/api/feeds/heap-users", feed);
        Assert.Equal(HttpStatusCode.OK, widened.StatusCode);
        Assert.Single(await QueryAsync("SELECT 1 FROM information_schema.columns WHERE table_schema = 'heap' AND table_name = 'users' AND column_name = 'country'"));

        var noKey = await Api.PutAsJsonAsync("/api/feeds/heap-users", new
        {
            source = "heap", name = "users", lastUpdatedField = "joined_at",
            fields = new object[] { new { name = "email", type = "string", primaryKey = true }, new { name = "joined_at", type = "datetime" } },
        });
        Assert.Equal(HttpStatusCode.Conflict, noKey.StatusCode);
        Assert.Contains("key field(s) user_id cannot be removed", await noKey.Content.ReadAsStringAsync());

        var newKey = new
        {
            source = "heap", name = "users", lastUpdatedField = "joined_at",
            fields = new object[]
            {
                new { name = "user_id", type = "integer", primaryKey = true }, new { name = "email", type = "string", primaryKey = true },
                new { name = "joined_at", type = "datetime" }, new { name = "score", type = "decimal", precision = 10, scale = 2 },
            },
        };
        var refused = await Api.PutAsJsonAsync("/api/feeds/heap-users", newKey);
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Contains("repeat with ?purge=true", await refused.Content.ReadAsStringAsync());
        Assert.Single(await QueryAsync("SELECT 1 FROM heap.users"));

        var purged = await Api.PutAsJsonAsync("/api/feeds/heap-users?purge=true", newKey);
        Assert.Equal(HttpStatusCode.OK, purged.StatusCode);
        Assert.Empty(await QueryAsync("SELECT 1 FROM heap.users"));
        var reload = await Api.RunAsync("users");
        Assert.Equal("loaded", reload.GetProperty("files")[0].GetProperty("status").GetString());
        Assert.Equal("1|a@example.com", (await QueryAsync("SELECT _pk FROM heap.users"))[0]["_pk"]);
    }

    [Fact]
    public async Task A_field_whose_type_changes_under_an_active_feed_is_refused_with_the_difference()
    {
        await EnsureUsersFeedAsync();

        var response = await Api.PutAsJsonAsync("/api/feeds/heap-users", new
        {
            source = "heap", name = "users", lastUpdatedField = "joined_at",
            fields = new object[]
            {
                new { name = "user_id", type = "integer", primaryKey = true }, new { name = "email", type = "integer" },
                new { name = "joined_at", type = "datetime" }, new { name = "score", type = "decimal", precision = 10, scale = 2 },
            },
        });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("column 'email' is text in heap.users, the feed says bigint", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("fail", "failed", 0)]
    [InlineData("ignore", "succeeded", 1)]
    [InlineData("add", "succeeded", 1)]
    public async Task New_columns_in_a_file_fail_are_ignored_or_are_added_as_the_feed_says(string policy, string status, int rows)
    {
        var feedName = $"drift_{policy}";
        await Api.PostOkAsync("/api/feeds", new
        {
            source = "heap", name = feedName, lastUpdatedField = "joined_at", newColumns = policy,
            fields = new object[] { new { name = "user_id", type = "integer", primaryKey = true }, new { name = "joined_at", type = "datetime" } },
        });
        await Api.PostOkAsync($"/api/feeds/heap-drift_{policy}/activate");
        await TestEnvironment.PutAsync(S3, Bucket, $"{policy}.csv", "user_id,joined_at,plan,Region\n1,2026-11-01T00:00:00Z,pro,EU\n");
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = policy, credentialId = "moto", files = new[] { new { key = $"{policy}.csv", feedId = $"heap-drift_{policy}" } } });

        var run = await Api.RunAsync(policy);

        Assert.Equal(status, run.GetProperty("status").GetString());
        Assert.Equal(rows, (await QueryAsync($"SELECT * FROM heap.{feedName}")).Count);
        var columns = (await QueryAsync($"SELECT column_name FROM information_schema.columns WHERE table_schema = 'heap' AND table_name = '{feedName}'"))
            .Select(c => (string)c["column_name"]!).ToList();
        Assert.Equal(policy == "add", columns.Contains("plan") && columns.Contains("Region"));
        if (policy == "add")
        {
            Assert.Equal("pro EU", (await QueryAsync($"SELECT plan, \"Region\" FROM heap.{feedName}")).Select(r => $"{r["plan"]} {r["Region"]}").Single());
            var fields = (await Api.GetOkAsync($"/api/feeds/heap-drift_{policy}")).GetProperty("feed").GetProperty("fields");
            Assert.Equal(["user_id", "joined_at", "plan", "Region"], fields.EnumerateArray().Select(f => f.GetProperty("name").GetString()));
        }
        if (policy == "fail")
            Assert.Contains("not in the feed ['plan', 'Region']", run.GetProperty("files")[0].GetProperty("message").GetString());
    }

    [Fact]
    public async Task With_add_a_JSON_line_that_brings_a_new_key_mid_file_widens_the_table_and_keeps_the_rows_before_it()
    {
        await Api.PostOkAsync("/api/feeds", new
        {
            source = "heap", name = "drift_json", lastUpdatedField = "joined_at", newColumns = "add",
            fields = new object[] { new { name = "user_id", type = "integer", primaryKey = true }, new { name = "joined_at", type = "datetime" } },
        });
        await Api.PostOkAsync("/api/feeds/heap-drift_json/activate");
        await TestEnvironment.PutAsync(S3, Bucket, "drift.ndjson",
            "{\"user_id\":1,\"joined_at\":\"2026-11-01T00:00:00Z\"}\n" +
            "{\"user_id\":2,\"joined_at\":\"2026-11-01T00:00:00Z\",\"plan\":\"pro\"}\n" +
            "{\"user_id\":3,\"joined_at\":\"2026-11-01T00:00:00Z\"}\n");
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new
        {
            id = "json", credentialId = "moto",
            files = new[] { new { key = "drift.ndjson", feedId = "heap-drift_json", settings = new { format = "ndjson" } } },
        });

        var run = await Api.RunAsync("json");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(["1 ", "2 pro", "3 "], (await QueryAsync("SELECT user_id, plan FROM heap.drift_json ORDER BY 1")).Select(r => $"{r["user_id"]} {r["plan"]}"));
    }

    [Fact]
    public async Task With_add_a_new_column_that_cannot_be_a_column_name_fails_the_file_and_changes_nothing()
    {
        await Api.PostOkAsync("/api/feeds", new
        {
            source = "heap", name = "hostile", newColumns = "add",
            fields = new object[] { new { name = "user_id", type = "integer", primaryKey = true } },
        });
        await Api.PostOkAsync("/api/feeds/heap-hostile/activate");
        var longName = new string('x', 200);
        await TestEnvironment.PutAsync(S3, Bucket, "hostile.csv", $"user_id,\"name\"\"; DROP TABLE x; --\",{longName}\n1,a,b\n");
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "hostile", credentialId = "moto", files = new[] { new { key = "hostile.csv", feedId = "heap-hostile" } } });
        var tablesBefore = await QueryAsync("SELECT schemaname, tablename FROM pg_tables ORDER BY 1, 2");

        var run = await Api.RunAsync("hostile");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("cannot be added to feed 'heap-hostile'", run.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Equal(["user_id"], (await QueryAsync("SELECT column_name FROM information_schema.columns WHERE table_schema = 'heap' AND table_name = 'hostile' AND column_name NOT LIKE '\\_%'"))
            .Select(c => (string)c["column_name"]!));
        Assert.Equal(tablesBefore.Count, (await QueryAsync("SELECT schemaname, tablename FROM pg_tables")).Count);
    }

    [Theory]
    [InlineData(101, 1, "succeeded")] // 0.99%: just under the 1% default
    [InlineData(100, 1, "succeeded")] // exactly 1% is not above it
    [InlineData(199, 2, "failed")]    // 1.005%: just over
    public async Task The_error_threshold_is_a_percentage_of_the_files_rows(int rows, int bad, string status)
    {
        var lines = Enumerable.Range(1, rows).Select(i => i <= bad ? $"{i},x@example.com,not-a-date,1" : $"{i},x@example.com,2026-11-01T00:00:00Z,1");
        await TestEnvironment.PutAsync(S3, Bucket, "threshold.csv", Header + string.Join("\n", lines) + "\n");
        await CreateCourierAsync("threshold", "threshold.csv");

        var run = await Api.RunAsync("threshold");

        Assert.Equal(status, run.GetProperty("status").GetString());
        Assert.Equal(status == "succeeded" ? rows - bad : 0, (await QueryAsync("SELECT 1 FROM heap.users")).Count);
        Assert.Equal(bad, (await Api.GetOkAsync($"/api/runs/{run.GetProperty("id").GetGuid()}/rejects")).GetArrayLength());
    }

    private static object UsersFeedWith(object extra) => new
    {
        source = "heap", name = "users", lastUpdatedField = "joined_at",
        fields = new object[]
        {
            new { name = "user_id", type = "integer", primaryKey = true }, new { name = "email", type = "string" },
            new { name = "joined_at", type = "datetime" }, new { name = "score", type = "decimal", precision = 10, scale = 2 }, extra,
        },
    };
}
