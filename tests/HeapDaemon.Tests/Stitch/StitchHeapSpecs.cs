using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Stitch;

/// <summary>Heap users (after user migrations) stitched with a CRM that shares some of their emails; events get their person.</summary>
public sealed class StitchHeapSpecs : DaemonSpecs
{
    [Fact]
    public async Task Heap_users_and_crm_customers_sharing_an_email_are_one_person_and_pageviews_customers_gives_each_pageview_its_person()
    {
        var export = new HeapExportGenerator(7, Bucket).Generate();
        await export.UploadAsync(S3);
        await EnsureMotoCredentialAsync();
        var source = await Api.PostOkAsync("/api/sources/heap", new { credentialId = "moto" });
        Assert.Equal("succeeded", (await Api.WaitForRunAsync(source.GetProperty("runId").GetGuid())).GetProperty("status").GetString());
        var emails = export.Expected["users"].Values.Select(u => u["email"] as string).OfType<string>().Distinct().Order(StringComparer.Ordinal).ToList();
        var (_, files) = new PeopleGenerator(4) { KnownEmails = emails }.Generate(200);
        await StitchSources.LoadAsync(Api, S3, Bucket, files.Take(1));

        await Api.StitchAsync();

        // A CRM customer with a Heap user's email is that user's person.
        var shared = await QueryAsync("""
            SELECT h.pk AS user_id, h.amperity_id AS heap, c.amperity_id AS crm FROM stitch.unified_coalesced h
            JOIN stitch.unified_coalesced c ON c.source = 'crm' AND lower(c.email) = lower(h.email)
            WHERE h.source = 'heap' AND h.feed = 'users'
            """);
        Assert.NotEmpty(shared);
        Assert.All(shared, row => Assert.True(Equals(row["heap"], row["crm"]), $"heap user {row["user_id"]} and the crm customer with its email differ"));

        // Every pageview has a person, and a merged user's pageviews have the person of the user it was merged into.
        var pageviews = await QueryAsync("SELECT user_id, amperity_id FROM heap.pageviews_customers");
        Assert.Equal(export.Expected["pageviews"].Count, pageviews.Count);
        Assert.All(pageviews, p => Assert.NotNull(p["amperity_id"]));
        var personOfUser = (await QueryAsync("SELECT pk, amperity_id FROM stitch.unified_coalesced WHERE source = 'heap' AND feed = 'users'"))
            .ToDictionary(r => long.Parse((string)r["pk"]!), r => (Guid)r["amperity_id"]!);
        foreach (var pageview in pageviews)
        {
            var user = (long)pageview["user_id"]!;
            var final = export.FinalUser.GetValueOrDefault(user, user);
            Assert.Equal(personOfUser[final], (Guid)pageview["amperity_id"]!);
        }
        Assert.Contains(pageviews, p => export.FinalUser.ContainsKey((long)p["user_id"]!));
        // Views for the other event tables too, and for users (whose id is also their events' key).
        Assert.NotEmpty(await QueryAsync("SELECT 1 FROM heap.sessions_customers WHERE amperity_id IS NOT NULL"));
        Assert.NotEmpty(await QueryAsync("SELECT 1 FROM heap.users_customers WHERE amperity_id IS NOT NULL"));
    }

    /// <summary>
    /// Heap users are read through user_migrations, so a sync that only merges users changes who they are: it starts a
    /// stitch after it like any load of a tagged table, and the merged user becomes the person of the user it merged into.
    /// </summary>
    [Fact]
    public async Task A_Heap_sync_that_only_merges_users_starts_a_stitch_after_it_and_the_merged_user_takes_the_other_users_person()
    {
        await Api.PostOkAsync("/api/stitch/settings", new { runAfterLoads = true, debounceSeconds = 0 });
        var export = new HeapExportGenerator(8, Bucket).Generate();
        await export.UploadAsync(S3);
        await EnsureMotoCredentialAsync();
        var source = await Api.PostOkAsync("/api/sources/heap", new { credentialId = "moto" });
        Assert.Equal("succeeded", (await Api.WaitForRunAsync(source.GetProperty("runId").GetGuid())).GetProperty("status").GetString());
        await WaitForStitchesAfterLoadsAsync(1);
        var personOf = await HeapUsersAsync();
        // Two users of their own (neither merged), with different people: the second is merged into the first.
        var (into, merged) = personOf.Keys.Where(u => !export.FinalUser.ContainsKey(u) && !export.FinalUser.Values.Contains(u)).Order().ToList() switch
        {
            [var a, .. var rest] => (a, rest.First(b => personOf[b] != personOf[a])),
            _ => throw new InvalidOperationException("the export has no users of their own"),
        };

        // The next sync: user_migrations only (Heap sends the whole table each time), with one more merge.
        var migrations = export.Expected["user_migrations"].Values.Append(new Row
        {
            ["from_user_id"] = merged.ToString(System.Globalization.CultureInfo.InvariantCulture), ["to_user_id"] = into, ["time"] = 1_800_000_000_000L,
        }).ToList();
        (string, string)[] columns = [("from_user_id", "string"), ("to_user_id", "long"), ("time", "long")];
        var dumpId = export.DumpIds.Max() + 1;
        var part = $"sync_{dumpId}/user_migrations/part-00000-c000.avro";
        await export.UploadAsync(S3, [new ExportObject(part, HeapFiles.Avro("user_migrations", columns, migrations)), new ExportObject(export.ManifestKey(dumpId),
            HeapFiles.Manifest(dumpId, [new { name = "user_migrations", columns = columns.Select(c => c.Item1), files = new[] { $"s3://{Bucket}/{part}" }, incremental = false, row_count = migrations.Count }]))]);
        var courier = source.GetProperty("courier").GetProperty("id").GetString()!;
        Assert.Equal("succeeded", (await Api.RunAsync(courier)).GetProperty("status").GetString());

        await WaitForStitchesAfterLoadsAsync(2);
        var after = await HeapUsersAsync();
        Assert.Equal(after[into], after[merged]);
        Assert.Equal(personOf[into], after[into]);
    }

    private async Task<Dictionary<long, Guid>> HeapUsersAsync() =>
        (await QueryAsync("SELECT pk, amperity_id FROM stitch.unified_coalesced WHERE source = 'heap' AND feed = 'users'"))
        .ToDictionary(r => long.Parse((string)r["pk"]!, System.Globalization.CultureInfo.InvariantCulture), r => (Guid)r["amperity_id"]!);

    /// <summary>Waits until <paramref name="count"/> stitches started by loads have ended, each succeeded.</summary>
    private async Task WaitForStitchesAfterLoadsAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (true)
        {
            var runs = (await Api.GetOkAsync("/api/stitch/runs")).EnumerateArray().Where(r => r.GetProperty("trigger").GetString() == "load").ToList();
            var ended = runs.Where(r => r.GetProperty("status").GetString() is not ("queued" or "running")).ToList();
            if (ended.Count >= count)
            {
                Assert.All(ended, r => Assert.Equal("succeeded", r.GetProperty("status").GetString()));
                return;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{ended.Count} of {count} stitches after loads ended within 90 s: {string.Join("; ", runs)}");
            await Task.Delay(200);
        }
    }

    [Fact]
    public async Task A_tag_on_a_column_of_the_wrong_type_is_refused_when_the_feed_is_saved()
    {
        var response = await Api.PostAsync("/api/feeds", System.Net.Http.Json.JsonContent.Create(new
        {
            source = "crm", name = "people",
            fields = new object[]
            {
                new { name = "id", type = "integer", primaryKey = true },
                new { name = "email", type = "integer", tags = new[] { "email" } },
                new { name = "signed_up", type = "datetime", tags = new[] { "fk-signup" } },
                new { name = "born", type = "boolean", tags = new[] { "birthdate" } },
                new { name = "updated", type = "string", tags = new[] { "update-dt" } },
            },
        }));

        Assert.Equal(System.Net.HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadAsStringAsync();
        Assert.Contains("field 'email': tag 'email' needs type String, not Integer", problem);
        Assert.Contains("field 'signed_up': tag 'fk-signup' is a key, which needs type String or Integer, not Datetime", problem);
        Assert.Contains("field 'born': tag 'birthdate' needs type Date or String, not Boolean", problem);
        Assert.Contains("field 'updated': tag 'update-dt' needs type Date or Datetime or Integer, not String", problem);
        Assert.False((await Api.GetAsync("/api/feeds/crm-people")).IsSuccessStatusCode);
    }
}
