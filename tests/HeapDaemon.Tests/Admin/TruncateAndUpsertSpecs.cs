using System.Net.Http.Json;
using System.Text;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>Truncate and upsert: each run's files of a feed replace its domain table, atomically for readers.</summary>
public sealed class TruncateAndUpsertSpecs : DaemonSpecs
{
    private const string Header = "user_id,email,joined_at,score\n";

    [Fact]
    public async Task A_new_file_replaces_the_table_and_an_unchanged_one_is_skipped()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "snapshot.csv", Header + Rows(1, 2, 3));
        await CreateTruncateCourierAsync("snap", "snapshot.csv");
        await Api.RunAsync("snap");
        Assert.Equal([1L, 2L, 3L], await UserIdsAsync());

        await TestEnvironment.PutAsync(S3, Bucket, "snapshot.csv", Header + Rows(3, 4));
        var replaced = await Api.RunAsync("snap");

        Assert.Equal("succeeded", replaced.GetProperty("status").GetString());
        Assert.Equal([3L, 4L], await UserIdsAsync());
        var unchanged = await Api.RunAsync("snap");
        Assert.Equal("skipped", unchanged.GetProperty("files")[0].GetProperty("status").GetString());
        Assert.Equal([3L, 4L], await UserIdsAsync());
    }

    [Fact]
    public async Task All_files_of_a_feed_replace_it_together_and_one_failed_file_leaves_the_table_as_it_was()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "a.csv", Header + Rows(1, 2));
        await TestEnvironment.PutAsync(S3, Bucket, "b.csv", Header + Rows(2, 3));
        await CreateTruncateCourierAsync("two", "a.csv", "b.csv");
        var run = await Api.RunAsync("two");
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal([1L, 2L, 3L], await UserIdsAsync());
        Assert.Equal($"s3://{Bucket}/b.csv", (await QueryAsync("SELECT _source_file FROM heap.users WHERE user_id = 2"))[0]["_source_file"]);

        await TestEnvironment.PutAsync(S3, Bucket, "a.csv", Header + Rows(7));
        await TestEnvironment.PutAsync(S3, Bucket, "b.csv", Header + "8,x@example.com,not-a-date,1\n");
        var failed = await Api.RunAsync("two");

        Assert.Equal("failed", failed.GetProperty("status").GetString());
        Assert.Contains("not loaded: s3://", failed.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Contains("1 of 1 rows rejected", failed.GetProperty("files")[1].GetProperty("message").GetString());
        Assert.Equal([1L, 2L, 3L], await UserIdsAsync());
    }

    [Fact]
    public async Task Readers_see_the_old_table_or_the_new_one_never_an_empty_or_partial_one()
    {
        const int oldRows = 5_000, newRows = 60_000;
        await TestEnvironment.PutAsync(S3, Bucket, "big.csv", Header + Rows(Enumerable.Range(1, oldRows).ToArray()));
        await CreateTruncateCourierAsync("big", "big.csv");
        await Api.RunAsync("big");
        await TestEnvironment.PutAsync(S3, Bucket, "big.csv", Header + Rows(Enumerable.Range(100_000, newRows).ToArray()));

        var seen = new HashSet<long>();
        using var stop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(ConnectionString);
            await connection.OpenAsync();
            while (!stop.IsCancellationRequested)
            {
                await using var count = new NpgsqlCommand("SELECT count(*) FROM heap.users", connection);
                seen.Add((long)(await count.ExecuteScalarAsync())!);
            }
        });
        var run = await Api.RunAsync("big");
        await Task.Delay(200);
        await stop.CancelAsync();
        await reader;

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Subset(new HashSet<long> { oldRows, newRows }, seen);
        Assert.Contains((long)newRows, seen);
    }

    [Fact]
    public async Task A_file_re_sent_with_the_content_of_an_earlier_version_replaces_the_table_again()
    {
        const string a = Header + "1,alice@example.com,2026-11-01T00:00:00Z,1\n2,bob@example.com,2026-11-01T00:00:00Z,2\n";
        const string b = Header + "1,alice2@example.com,2026-11-01T00:00:00Z,1\n3,carol@example.com,2026-11-01T00:00:00Z,3\n";
        await CreateTruncateCourierAsync("people", "people.csv");

        await TestEnvironment.PutAsync(S3, Bucket, "people.csv", a);
        Assert.Equal("loaded", FileStatus(await Api.RunAsync("people")));
        Assert.Equal("1:alice@example.com 2:bob@example.com", await PeopleAsync());

        await TestEnvironment.PutAsync(S3, Bucket, "people.csv", b);
        Assert.Equal("loaded", FileStatus(await Api.RunAsync("people")));
        Assert.Equal("1:alice2@example.com 3:carol@example.com", await PeopleAsync());

        await TestEnvironment.PutAsync(S3, Bucket, "people.csv", a);
        var reverted = await Api.RunAsync("people");
        Assert.Equal("succeeded", reverted.GetProperty("status").GetString());
        Assert.Equal("loaded", FileStatus(reverted));
        Assert.Contains("content of an earlier version, loaded again because a later version was loaded since",
            reverted.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Equal("1:alice@example.com 2:bob@example.com", await PeopleAsync());

        Assert.Equal("skipped", FileStatus(await Api.RunAsync("people")));
        Assert.Equal("1:alice@example.com 2:bob@example.com", await PeopleAsync());
    }

    [Fact]
    public async Task A_run_with_fewer_files_than_the_last_load_replaces_the_table_though_each_file_was_loaded()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "part-a.csv", Header + Rows(1, 2));
        await TestEnvironment.PutAsync(S3, Bucket, "part-b.csv", Header + Rows(3));
        await CreateTruncateCourierAsync("parts", "part-a.csv", "part-b.csv");
        Assert.Equal("succeeded", (await Api.RunAsync("parts")).GetProperty("status").GetString());
        Assert.Equal([1L, 2L, 3L], await UserIdsAsync());

        var changed = await Api.PutAsJsonAsync("/api/couriers/parts", new
        {
            credentialId = "moto", loadType = "truncateAndUpsert", files = new[] { new { key = "part-a.csv", feedId = "heap-users" } },
        });
        Assert.True(changed.IsSuccessStatusCode, await changed.Content.ReadAsStringAsync());
        var fewer = await Api.RunAsync("parts");

        Assert.Equal("loaded", FileStatus(fewer));
        Assert.Equal([1L, 2L], await UserIdsAsync());
        Assert.Equal("skipped", FileStatus(await Api.RunAsync("parts")));
        Assert.Equal([1L, 2L], await UserIdsAsync());
    }

    [Fact]
    public async Task An_empty_file_fails_the_truncate_load_unless_its_entry_allows_it_and_then_adds_no_rows()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "rows.csv", Header + Rows(1, 2));
        await TestEnvironment.PutAsync(S3, Bucket, "none.csv", "");
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync();
        object Courier(string id, bool allowEmpty) => new
        {
            id, credentialId = "moto", loadType = "truncateAndUpsert",
            files = new object[] { new { key = "rows.csv", feedId = "heap-users" }, new { key = "none.csv", feedId = "heap-users", allowEmpty } },
        };
        await Api.PostOkAsync("/api/couriers", Courier("strict", allowEmpty: false));
        await Api.PostOkAsync("/api/couriers", Courier("lenient", allowEmpty: true));

        var strict = await Api.RunAsync("strict");
        Assert.Equal("failed", strict.GetProperty("status").GetString());
        Assert.StartsWith($"s3://{Bucket}/none.csv: the file is empty (0 bytes)", strict.GetProperty("files")[1].GetProperty("message").GetString());
        Assert.Empty(await UserIdsAsync());

        var lenient = await Api.RunAsync("lenient");
        Assert.Equal("succeeded", lenient.GetProperty("status").GetString());
        Assert.Equal(["loaded", "loaded"], lenient.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("status").GetString()));
        Assert.Equal([1L, 2L], await UserIdsAsync());
    }

    private static string FileStatus(System.Text.Json.JsonElement run) => run.GetProperty("files")[0].GetProperty("status").GetString()!;

    private async Task<string> PeopleAsync() =>
        string.Join(' ', (await QueryAsync("SELECT user_id, email FROM heap.users ORDER BY user_id")).Select(r => $"{r["user_id"]}:{r["email"]}"));

    private async Task CreateTruncateCourierAsync(string id, params string[] keys)
    {
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/couriers", new
        {
            id,
            credentialId = "moto",
            loadType = "truncateAndUpsert",
            files = keys.Select(k => new { key = k, feedId = "heap-users" }).ToArray(),
        });
    }

    private async Task<List<long>> UserIdsAsync() =>
        (await QueryAsync("SELECT user_id FROM heap.users ORDER BY 1")).Select(r => (long)r["user_id"]!).ToList();

    private static string Rows(params int[] ids)
    {
        var text = new StringBuilder();
        foreach (var id in ids) text.Append($"{id},user{id}@example.com,2026-11-01T00:00:00Z,{id % 100}\n");
        return text.ToString();
    }
}
