using System.Text.Json;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Stitch;

/// <summary>The synthetic CRM, orders and loyalty sources as tagged feeds, loaded through couriers, and stitching through the API.</summary>
public static class StitchSources
{
    /// <summary>The feed of each generated source: what a user would define (tags suggested by name where they can be).</summary>
    public static object Feed(string source, string table) => (source, table) switch
    {
        ("crm", "customers") => new
        {
            source, name = table, lastUpdatedField = "updated_at",
            fields = new object[]
            {
                new { name = "customer_id", type = "string", primaryKey = true }, new { name = "first_name", type = "string" },
                new { name = "last_name", type = "string" }, new { name = "email", type = "string" }, new { name = "phone", type = "string" },
                new { name = "address", type = "string" }, new { name = "city", type = "string" }, new { name = "state", type = "string" },
                new { name = "zip", type = "string" }, new { name = "birthdate", type = "date" }, new { name = "gender", type = "string" },
                new { name = "updated_at", type = "datetime" },
            },
        },
        ("shop", "orders") => new
        {
            source, name = table, lastUpdatedField = "ordered_at",
            fields = new object[]
            {
                new { name = "order_id", type = "string", primaryKey = true }, new { name = "customer_name", type = "string", tags = new[] { "full-name" } },
                new { name = "email", type = "string" }, new { name = "phone", type = "string" },
                new { name = "ship_address", type = "string", tags = new[] { "address" } }, new { name = "ship_city", type = "string", tags = new[] { "city" } },
                new { name = "ship_state", type = "string", tags = new[] { "state" } }, new { name = "ship_zip", type = "string", tags = new[] { "postal" } },
                new { name = "birthdate", type = "date" },
                new { name = "amount", type = "decimal", precision = 10, scale = 2 }, new { name = "ordered_at", type = "datetime" },
            },
        },
        ("loyalty", "members") => new
        {
            source, name = table,
            fields = new object[]
            {
                new { name = "member_id", type = "string", primaryKey = true }, new { name = "given", type = "string", tags = new[] { "given-name" } },
                new { name = "surname", type = "string" }, new { name = "email", type = "string" },
                new { name = "dob", type = "date", format = "MM/dd/yyyy" }, new { name = "zip", type = "string" }, new { name = "phone", type = "string" },
            },
        },
        _ => throw new ArgumentOutOfRangeException(nameof(table), $"{source}.{table}"),
    };

    /// <summary>Puts each file in the bucket (again, for a reload) and loads it with its own courier; creates feeds and couriers the first time.</summary>
    public static async Task LoadAsync(HttpClient api, Amazon.S3.IAmazonS3 s3, string bucket, IEnumerable<SourceFile> files)
    {
        foreach (var file in files)
        {
            var id = $"{file.Source}-{file.Table}";
            await TestEnvironment.PutAsync(s3, bucket, $"{id}.csv", file.Csv());
            if (!(await api.GetAsync($"/api/feeds/{id}")).IsSuccessStatusCode)
            {
                await api.PostOkAsync("/api/feeds", Feed(file.Source, file.Table));
                await api.PostOkAsync($"/api/feeds/{id}/activate");
                await api.PostOkAsync("/api/couriers", new { id, credentialId = "moto", files = new[] { new { key = $"{id}.csv", feedId = id } } });
            }
            var run = await api.RunAsync(id);
            Assert.True(run.GetProperty("status").GetString() == "succeeded", $"loading {id}: {run}");
        }
    }

    /// <summary>Asks for a stitch and waits for it to end; returns the run as GET /api/stitch/runs/{id} shows it.</summary>
    public static async Task<JsonElement> StitchAsync(this HttpClient api, bool full = false, bool mustSucceed = true)
    {
        var accepted = await api.PostOkAsync("/api/stitch/runs", new { full });
        var run = await api.WaitForStitchAsync(accepted.GetProperty("runId").GetGuid());
        if (mustSucceed) Assert.True(run.GetProperty("status").GetString() == "succeeded", $"stitch: {run}");
        return run;
    }

    public static async Task<JsonElement> WaitForStitchAsync(this HttpClient api, Guid runId, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(120));
        while (true)
        {
            var run = (await api.GetOkAsync($"/api/stitch/runs/{runId}")).GetProperty("run");
            var status = run.GetProperty("status").GetString();
            if (status is not ("queued" or "running")) return run;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"stitch {runId} still {status}: {run}");
            await Task.Delay(100);
        }
    }

    /// <summary>Each record's amperity_id, by source, table and primary key.</summary>
    public static async Task<Dictionary<(string Source, string Feed, string Pk), Guid>> IdsAsync(Func<string, Task<List<Dictionary<string, object?>>>> query) =>
        (await query("SELECT source, feed, pk, amperity_id FROM stitch.unified_coalesced"))
        .ToDictionary(r => ((string)r["source"]!, (string)r["feed"]!, (string)r["pk"]!), r => (Guid)r["amperity_id"]!);
}
