using System.Net;
using System.Net.Http.Json;
using System.Text;
using Amazon.S3.Model;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Heap;

/// <summary>Heap Connect exports that are wrong in some way: each run fails naming the object and the cause, or loads what is right.</summary>
public sealed class HeapBadInputSpecs : DaemonSpecs
{
    private static readonly DateTimeOffset Noon = new(2026, 11, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly (string Name, string Type)[] UserColumns = [("user_id", "long"), ("joindate", "long"), ("last_modified", "long"), ("email", "?string")];
    private static readonly (string Name, string Type)[] PageviewColumns = [("event_id", "long"), ("user_id", "long"), ("time", "long"), ("path", "?string")];
    private static readonly (string Name, string Type)[] MigrationColumns = [("from_user_id", "string"), ("to_user_id", "long"), ("time", "long")];

    private HeapExport Export(int seed = 5) => new HeapExportGenerator(seed, Bucket).Generate();


    private async Task<System.Text.Json.JsonElement> CourierRunAsync()
    {
        await EnsureMotoCredentialAsync();
        if ((await Api.GetAsync("/api/couriers/heap")).StatusCode == HttpStatusCode.NotFound)
            await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });
        return await Api.RunAsync("heap");
    }

    /// <summary>One part file of a table in a dump; returns its s3:// URI.</summary>
    private async Task<string> PutPartAsync(long dump, string table, IEnumerable<(string Name, string Type)> columns, IEnumerable<Row> rows, int part = 0)
    {
        var key = $"sync_{dump}/{table}/part-{part:D5}-test-c000.avro";
        await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(HeapFiles.Avro(table, columns, rows, record: "row")) });
        return $"s3://{Bucket}/{key}";
    }

    private Task PutManifestAsync(long dump, params object[] tables) => PutManifestAsync(dump, HeapFiles.Manifest(dump, tables));

    private Task PutManifestAsync(long dump, byte[] content) =>
        S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = $"manifests/sync_{dump}.json", InputStream = new MemoryStream(content) });

    private static object Table(string name, IEnumerable<(string Name, string Type)> columns, bool incremental, params string[] files) =>
        new { name, columns = columns.Select(c => c.Name), files, incremental };

    private static Row User(long id, long joindate, long lastModified, string? email = null) =>
        new() { ["user_id"] = id, ["joindate"] = joindate, ["last_modified"] = lastModified, ["email"] = email };

    private static Row Pageview(long id, long user, long time) => new() { ["event_id"] = id, ["user_id"] = user, ["time"] = time, ["path"] = $"/p/{id}" };

    /// <summary>What a failed run must leave as it was: the domain tables' columns and rows, the feeds, and the ledger.</summary>
    private async Task<string> SnapshotAsync()
    {
        var text = new StringBuilder();
        foreach (var row in await QueryAsync("SELECT table_schema, table_name, column_name FROM information_schema.columns WHERE table_schema IN ('heap', 'heapd') ORDER BY 1, 2, 3"))
            text.AppendLine(string.Join('.', row.Values));
        foreach (var row in await QueryAsync("SELECT id FROM heapd.feeds ORDER BY id")) text.AppendLine((string)row["id"]!);
        foreach (var table in await QueryAsync("SELECT table_name FROM information_schema.tables WHERE table_schema = 'heap' AND table_type = 'BASE TABLE' ORDER BY 1"))
            text.AppendLine($"{table["table_name"]}: {(await QueryAsync($"SELECT count(*) AS n FROM heap.\"{table["table_name"]}\""))[0]["n"]} rows");
        text.AppendLine($"ledger: {(await QueryAsync("SELECT count(*) AS n FROM heapd.load_ledger"))[0]["n"]}");
        return text.ToString();
    }

    [Theory]
    [InlineData("{\"dump_id\": 999, \"tables\": [", "is not valid JSON")]
    [InlineData("{\"tables\": []}", "dump_id is missing")]
    [InlineData("{\"dump_id\": 999}", "tables is missing")]
    [InlineData("{\"dump_id\": 999, \"tables\": [{\"name\": \"users\", \"columns\": [], \"incremental\": true, \"files\": [\"s3://another-bucket/sync_999/users/part-00000-x-c000.avro\"]}]}", "is not an s3:// URI in bucket")]
    [InlineData("{\"dump_id\": 999, \"tables\": [{\"name\": \"users\", \"columns\": [], \"incremental\": true, \"files\": [\"sync_999/users/part-00000-x-c000.avro\"]}]}", "is not an s3:// URI in bucket")]
    public async Task A_malformed_manifest_fails_the_run_naming_it_and_the_cause_applies_nothing_and_the_daemon_keeps_serving(string manifest, string cause)
    {
        var export = Export();
        await export.UploadAsync(S3, export.ObjectsOf(export.DumpIds[0]));
        await PutManifestAsync(999, Encoding.UTF8.GetBytes(manifest));
        await EnsureMotoCredentialAsync();

        var refused = await Api.PostAsJsonAsync("/api/sources/heap", new { credentialId = "moto" });
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Contains($"s3://{Bucket}/manifests/sync_999.json", await refused.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/couriers/heap")).StatusCode);
        var before = await SnapshotAsync();

        var run = await CourierRunAsync();

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("message").GetString()!;
        Assert.Contains($"s3://{Bucket}/manifests/sync_999.json", message);
        Assert.Contains(cause, message);
        Assert.Contains("nothing was applied", message);
        Assert.Equal(before, await SnapshotAsync());
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.heap_tables"));

        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync("/healthz")).StatusCode);
        await S3.DeleteObjectAsync(Bucket, "manifests/sync_999.json");
        var fixedRun = await Api.RunAsync("heap");
        Assert.Equal("succeeded", fixedRun.GetProperty("status").GetString());
        Assert.Contains("1 dump(s) applied (998)", fixedRun.GetProperty("message").GetString());
    }

    [Theory]
    [InlineData(1L, "seconds")]
    [InlineData(1_000L, "milliseconds")]
    [InlineData(1_000_000L, "microseconds")]
    public async Task Times_in_seconds_or_microseconds_load_as_the_instants_they_are(long perSecond, string unit)
    {
        var joined = Noon.AddDays(-30);
        var users = Enumerable.Range(1, 5).Select(i => User(i, joined.AddHours(i).ToUnixTimeSeconds() * perSecond, Noon.AddMinutes(i).ToUnixTimeSeconds() * perSecond)).ToList();
        var views = Enumerable.Range(1, 8).Select(i => Pageview(100 + i, 1 + i % 5, Noon.AddSeconds(17 * i).ToUnixTimeSeconds() * perSecond)).ToList();
        await PutManifestAsync(998,
            Table("users", UserColumns, false, await PutPartAsync(998, "users", UserColumns, users)),
            Table("pageviews", PageviewColumns, false, await PutPartAsync(998, "pageviews", PageviewColumns, views)));

        var run = await CourierRunAsync();

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var time = (await Api.GetOkAsync("/api/feeds/heap-pageviews")).GetProperty("feed").GetProperty("fields").EnumerateArray().Single(f => f.GetProperty("name").GetString() == "time");
        Assert.Equal(unit, time.GetProperty("epoch").GetString());
        var storedUsers = (await QueryAsync("SELECT user_id, joindate, last_modified FROM heap.users")).ToDictionary(r => (long)r["user_id"]!);
        Assert.Equal(5, storedUsers.Count);
        for (var i = 1; i <= 5; i++)
        {
            Assert.Equal(joined.AddHours(i).UtcDateTime, (DateTime)storedUsers[i]["joindate"]!);
            Assert.Equal(Noon.AddMinutes(i).UtcDateTime, (DateTime)storedUsers[i]["last_modified"]!);
        }
        var storedViews = (await QueryAsync("SELECT event_id, time FROM heap.pageviews")).ToDictionary(r => (long)r["event_id"]!, r => (DateTime)r["time"]!);
        Assert.Equal(Enumerable.Range(1, 8).ToDictionary(i => 100L + i, i => Noon.AddSeconds(17 * i).UtcDateTime), storedViews);
    }

    [Fact]
    public async Task A_time_column_that_mixes_units_fails_its_dump_naming_the_column_and_applies_nothing()
    {
        var views = Enumerable.Range(1, 6).Select(i => Pageview(i, 1, i % 2 == 0 ? Noon.ToUnixTimeMilliseconds() : Noon.ToUnixTimeSeconds())).ToList();
        var file = await PutPartAsync(998, "pageviews", PageviewColumns, views);
        await PutManifestAsync(998, Table("pageviews", PageviewColumns, false, file));

        var run = await CourierRunAsync();

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("message").GetString()!;
        Assert.Contains($"column 'time' of table 'pageviews' in {file}", message);
        Assert.Contains("mix Unix-time units", message);
        Assert.Contains("nothing of dump 998 was applied", message);
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.load_ledger"));
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.heap_tables"));
    }

    [Fact]
    public async Task A_later_dump_whose_times_are_in_another_unit_than_the_feeds_fails_naming_the_column_and_keeps_the_stored_rows()
    {
        await PutManifestAsync(998, Table("pageviews", PageviewColumns, false,
            await PutPartAsync(998, "pageviews", PageviewColumns, [Pageview(1, 1, Noon.ToUnixTimeMilliseconds())])));
        Assert.Equal("succeeded", (await CourierRunAsync()).GetProperty("status").GetString());
        var file = await PutPartAsync(999, "pageviews", PageviewColumns, [Pageview(2, 1, Noon.AddHours(1).ToUnixTimeSeconds())]);
        await PutManifestAsync(999, Table("pageviews", PageviewColumns, true, file));
        var before = await SnapshotAsync();

        var run = await CourierRunAsync();

        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains($"column 'time' of table 'pageviews' holds Unix times in seconds in {file}, but feed 'heap-pageviews' reads them as milliseconds",
            run.GetProperty("message").GetString());
        Assert.Equal(before, await SnapshotAsync());
        Assert.Equal(Noon.UtcDateTime, (DateTime)Assert.Single(await QueryAsync("SELECT time FROM heap.pageviews"))["time"]!);
    }

    [Fact]
    public async Task A_cycle_in_user_migrations_resolves_every_user_on_it_to_the_smallest_id_of_the_cycle()
    {
        // 30 and 20 were merged into each other (a→b, b→a); 10 was merged into 30; 40 was never merged.
        var users = new long[] { 10, 20, 30, 40 }.Select(u => User(u, Noon.AddDays(-u).ToUnixTimeMilliseconds(), Noon.ToUnixTimeMilliseconds(), $"u{u}@example.com")).ToList();
        var views = new long[] { 10, 20, 30, 40 }.Select(u => Pageview(100 + u, u, Noon.AddMinutes(u).ToUnixTimeMilliseconds())).ToList();
        Row Merge(long from, long to) => new() { ["from_user_id"] = from.ToString(System.Globalization.CultureInfo.InvariantCulture), ["to_user_id"] = to, ["time"] = Noon.ToUnixTimeMilliseconds() };
        await PutManifestAsync(998,
            Table("users", UserColumns, false, await PutPartAsync(998, "users", UserColumns, users)),
            Table("pageviews", PageviewColumns, false, await PutPartAsync(998, "pageviews", PageviewColumns, views)),
            Table("user_migrations", MigrationColumns, false, await PutPartAsync(998, "user_migrations", MigrationColumns, [Merge(30, 20), Merge(20, 30), Merge(10, 30)])));

        var run = await CourierRunAsync();

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        // A hanging recursive view would fail here on the timeout rather than hang the test.
        var mapping = (await QueryAsync("SET statement_timeout = '20s'; SELECT from_user_id, to_user_id FROM heap.user_migrations_resolved"))
            .ToDictionary(r => (long)r["from_user_id"]!, r => (long)r["to_user_id"]!);
        Assert.Equal(new Dictionary<long, long> { [10] = 20, [20] = 20, [30] = 20 }, mapping);
        var resolved = (await QueryAsync("SET statement_timeout = '20s'; SELECT event_id, resolved_user_id FROM heap.pageviews_resolved"))
            .ToDictionary(r => (long)r["event_id"]!, r => (long)r["resolved_user_id"]!);
        Assert.Equal(new Dictionary<long, long> { [110] = 20, [120] = 20, [130] = 20, [140] = 40 }, resolved);
        var merged = (await QueryAsync("SET statement_timeout = '20s'; SELECT user_id, merged_user_ids FROM heap.users_resolved"))
            .ToDictionary(r => (long)r["user_id"]!, r => ((long[])r["merged_user_ids"]!).ToList());
        Assert.Equal(new Dictionary<long, List<long>> { [20] = [10, 20, 30], [40] = [40] }, merged);
    }

    [Theory]
    [InlineData("x\"; DROP TABLE heap.users; --", "title", "table 'x\"; DROP TABLE heap.users; --' cannot be a domain table name")]
    [InlineData("pageviews", "_pk", "column '_pk' of table 'pageviews' cannot be a column name")]
    [InlineData("pageviews", "p_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "cannot be a column name")]
    [InlineData("pageviews", "email\"; DROP TABLE heap.users; --", "column 'email\"; DROP TABLE heap.users; --' of table 'pageviews' cannot be a column name")]
    public async Task A_hostile_table_or_column_name_is_refused_naming_it_and_nothing_in_the_database_changes(string table, string column, string refusal)
    {
        var export = Export();
        await export.UploadAsync(S3, export.ObjectsOf(export.DumpIds[0]));
        Assert.Equal("succeeded", (await CourierRunAsync()).GetProperty("status").GetString());
        var before = await SnapshotAsync();

        // A name Avro cannot carry is only in the manifest; the others are in the file's schema too.
        var avroColumn = System.Text.RegularExpressions.Regex.IsMatch(column, "^[A-Za-z_][A-Za-z0-9_]*$");
        (string, string)[] fileColumns = avroColumn ? [.. PageviewColumns, (column, "?string")] : PageviewColumns;
        var row = Pageview(1, 1, Noon.ToUnixTimeMilliseconds());
        row[column] = "hostile";
        var file = await PutPartAsync(999, table, fileColumns, [row]);
        await PutManifestAsync(999, Table(table, [.. PageviewColumns, (column, "?string")], true, file));

        var run = await CourierRunAsync();

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var message = run.GetProperty("message").GetString()!;
        Assert.Contains(refusal, message);
        Assert.Contains("nothing of dump 999 was applied", message);
        Assert.Equal(before, await SnapshotAsync());
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task A_wrong_secret_refuses_the_heap_source_with_the_cause_and_creates_no_courier_and_no_feed()
    {
        using var authorized = TestEnvironment.S3Client(TestEnvironment.S3AuthEndpoint, TestEnvironment.S3AuthKeyId, TestEnvironment.S3AuthSecret);
        var bucket = await TestEnvironment.CreateBucketAsync(authorized);
        await new HeapExportGenerator(3, bucket).Generate().UploadAsync(authorized);
        await Api.PostOkAsync("/api/credentials", new
        {
            id = "wrong", kind = "s3", bucket, endpointUrl = TestEnvironment.S3AuthEndpoint, accessKeyId = TestEnvironment.S3AuthKeyId, secretAccessKey = "not-the-secret",
        });

        var refused = await Api.PostAsJsonAsync("/api/sources/heap", new { credentialId = "wrong" });

        Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        var body = await refused.Content.ReadAsStringAsync();
        Assert.Contains("SignatureDoesNotMatch", body);
        Assert.Contains($"s3://{bucket}", body);
        Assert.DoesNotContain("not-the-secret", body);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync("/api/couriers/heap")).StatusCode);
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.feeds"));

        // A courier made by hand with the same credential fails its run the same way, and makes no feed either.
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "wrong", kind = "heap" });
        var run = await Api.RunAsync("heap");
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Contains("SignatureDoesNotMatch", run.GetProperty("message").GetString());
        Assert.Empty(await QueryAsync("SELECT * FROM heapd.feeds"));
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync("/healthz")).StatusCode);
    }

    [Fact]
    public async Task A_late_manifest_is_applied_without_undoing_newer_dumps_and_its_tables_a_newer_full_dump_replaced_are_skipped_and_reported()
    {
        var export = Export(31);
        var (late, first, last) = (export.DumpIds[0], export.DumpIds[1], export.DumpIds[2]);
        await export.UploadAsync(S3, export.ObjectsOf(first).Concat(export.ObjectsOf(last)));
        var run = await CourierRunAsync();
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Contains($"2 dump(s) applied ({first}, {last})", run.GetProperty("message").GetString());

        await export.UploadAsync(S3, export.ObjectsOf(late));
        var lateRun = await Api.RunAsync("heap");

        Assert.Equal("succeeded", lateRun.GetProperty("status").GetString());
        var message = lateRun.GetProperty("message").GetString()!;
        Assert.Contains($"1 dump(s) applied ({late})", message);
        Assert.Contains($"2 table part(s) superseded by a newer full dump (click_button@{late}, user_migrations@{late})", message);
        var skipped = await QueryAsync($"SELECT table_name, message FROM heapd.heap_tables WHERE dump_id = {late} AND status = 'superseded' ORDER BY 1");
        Assert.Equal(["click_button", "user_migrations"], skipped.Select(r => (string)r["table_name"]!));
        Assert.Contains($"full dump {last} replaces it", (string)skipped[0]["message"]!);
        Assert.Equal(["pageviews", "sessions", "users"],
            (await QueryAsync($"SELECT table_name FROM heapd.heap_tables WHERE dump_id = {late} AND status = 'applied' ORDER BY 1")).Select(r => (string)r["table_name"]!));

        // The late full dump fills in what only it had, and the newer rows of 999 and 1000 stay: the tables end as if
        // the dumps had come in order. (Pageviews' one tie on time, re-titled in 1000, goes to the later load; see README.)
        foreach (var table in new[] { "users", "sessions", "click_button", "user_migrations", "sign_up" })
            await HeapTables.AssertAsync(QueryAsync, table, export.Expected[table]);
        var pageviews = (await QueryAsync("SELECT event_id FROM heap.pageviews")).Select(r => (long)r["event_id"]!).Order();
        Assert.Equal(export.Expected["pageviews"].Keys.Order(), pageviews);
    }

    [Fact]
    public async Task A_part_file_re_delivered_with_the_content_of_an_earlier_delivery_after_a_newer_one_was_applied_loads_again()
    {
        // users is incremental; its part 1 is broken, so dump 998 stays unapplied while part 0 is delivered again.
        var t = Noon.ToUnixTimeMilliseconds();
        var a = HeapFiles.Avro("users", UserColumns, [User(1, t, t, "a1@example.com"), User(2, t, t, "a2@example.com")], record: "row");
        var b = HeapFiles.Avro("users", UserColumns, [User(1, t, t, "b1@example.com"), User(3, t, t, "b3@example.com")], record: "row");
        const string part0 = "sync_998/users/part-00000-test-c000.avro", part1 = "sync_998/users/part-00001-test-c000.avro";
        await PutManifestAsync(998, Table("users", UserColumns, true, $"s3://{Bucket}/{part0}", $"s3://{Bucket}/{part1}"));
        await PutObjectAsync(part1, Encoding.UTF8.GetBytes("not avro at all"));
        await PutObjectAsync(part0, a);

        var first = await CourierRunAsync();
        Assert.Equal("failed", first.GetProperty("status").GetString());
        Assert.Equal("1:a1@example.com 2:a2@example.com", await UsersAsync());

        // A newer delivery of part 0; its row 1 ties on last_modified, and the later load wins the tie.
        await PutObjectAsync(part0, b);
        var second = await Api.RunAsync("heap");
        Assert.Equal("failed", second.GetProperty("status").GetString());
        Assert.Equal("loaded", FileOf(second, part0).GetProperty("status").GetString());
        Assert.Equal("1:b1@example.com 2:a2@example.com 3:b3@example.com", await UsersAsync());

        // Part 0 goes back to the first delivery's bytes, and part 1 is fixed: both load, and row 1 is A's again.
        await PutObjectAsync(part0, a);
        await PutObjectAsync(part1, HeapFiles.Avro("users", UserColumns, [User(4, t, t, "a4@example.com")], record: "row"));
        var third = await Api.RunAsync("heap");
        Assert.Equal("succeeded", third.GetProperty("status").GetString());
        var redelivered = FileOf(third, part0);
        Assert.Equal("loaded", redelivered.GetProperty("status").GetString());
        Assert.Contains("content of an earlier version, loaded again because a later version was loaded since", redelivered.GetProperty("message").GetString());
        Assert.Equal("1:a1@example.com 2:a2@example.com 3:b3@example.com 4:a4@example.com", await UsersAsync());

        var again = await Api.RunAsync("heap");
        Assert.Contains("no new dump", again.GetProperty("message").GetString());
        Assert.Equal("1:a1@example.com 2:a2@example.com 3:b3@example.com 4:a4@example.com", await UsersAsync());
    }

    private Task PutObjectAsync(string key, byte[] content) =>
        S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = key, InputStream = new MemoryStream(content) });

    private static System.Text.Json.JsonElement FileOf(System.Text.Json.JsonElement run, string key) =>
        run.GetProperty("files").EnumerateArray().Last(f => f.GetProperty("key").GetString() == key);

    private async Task<string> UsersAsync() =>
        string.Join(' ', (await QueryAsync("SELECT user_id, email FROM heap.users ORDER BY user_id")).Select(r => $"{r["user_id"]}:{r["email"]}"));
}
