using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Loading;

/// <summary>
/// A file whose first rows are all new is COPYed straight into its domain table. A file with a key the table has or
/// the file repeats cannot be, and is loaded again through the staging table and the merge, with the result a merge
/// always gives. Here rows are checked in batches of two and merged every two, so a repeated key meets its earlier
/// row already merged.
/// </summary>
public sealed class CopyNewRowsSpecs : DaemonSpecs
{
    private const string Header = "user_id,email,joined_at,score\n";

    // A malformed row, then user 1 twice, the later row second, and user 3 twice, the later row first. In batches of
    // two rows, the reject is stored before the repeated key is met; user 1's later row and user 3's older row come
    // after the first merge.
    private const string RepeatedKeys = Header +
        "4,four@example.com,not-a-date,4\n" +
        "1,old@example.com,2026-11-01T00:00:00Z,1\n" +
        "2,two@example.com,2026-11-01T00:00:00Z,2\n" +
        "3,new3@example.com,2026-11-03T00:00:00Z,3\n" +
        "1,new@example.com,2026-11-02T00:00:00Z,1\n" +
        "3,old3@example.com,2026-11-01T00:00:00Z,3\n";

    protected override IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string>
    {
        ["Loading:BatchRows"] = "2",
        ["Loading:MergeEveryRows"] = "2",
    };

    [Fact]
    public async Task A_file_that_repeats_a_key_into_an_empty_table_keeps_the_newest_row_per_key_and_each_reject_once()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "repeats.csv", RepeatedKeys);
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync(threshold: 50m);
        await Api.PostOkAsync("/api/couriers", new { id = "users", credentialId = "moto", files = new[] { new { key = "repeats.csv", feedId = "heap-users" } } });

        var run = await Api.RunAsync("users");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var file = run.GetProperty("files")[0];
        Assert.Equal(3, file.GetProperty("rowsInserted").GetInt64());
        Assert.Equal(1, file.GetProperty("rowsUpdated").GetInt64()); // user 1's later row, over the one merged before it
        Assert.Equal(1, file.GetProperty("rowsRejected").GetInt64());
        Assert.Equal(["1 new@example.com", "2 two@example.com", "3 new3@example.com"], await EmailsAsync());
        var reject = Assert.Single((await Api.GetOkAsync($"/api/runs/{run.GetProperty("id").GetGuid()}/rejects")).EnumerateArray());
        Assert.Equal(2, reject.GetProperty("line").GetInt64());
    }

    [Fact]
    public async Task A_key_repeated_within_one_merge_keeps_its_newest_row_whichever_comes_first()
    {
        // Each pair is one batch and one merge: a merge of rows whose keys all differ skips DISTINCT ON, which
        // PostgreSQL would need here ("ON CONFLICT DO UPDATE command cannot affect row a second time").
        await TestEnvironment.PutAsync(S3, Bucket, "pairs.csv", Header +
            "5,five-old@example.com,2026-11-01T00:00:00Z,5\n5,five-new@example.com,2026-11-02T00:00:00Z,5\n" +
            "7,seven-new@example.com,2026-11-03T00:00:00Z,7\n7,seven-old@example.com,2026-11-01T00:00:00Z,7\n" +
            "8,eight@example.com,2026-11-01T00:00:00Z,8\n9,nine@example.com,2026-11-01T00:00:00Z,9\n");
        await CreateCourierAsync("users", "pairs.csv");

        var run = await Api.RunAsync("users");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var file = run.GetProperty("files")[0];
        Assert.Equal(4, file.GetProperty("rowsInserted").GetInt64());
        Assert.Equal(0, file.GetProperty("rowsUpdated").GetInt64());
        Assert.Equal(["5 five-new@example.com", "7 seven-new@example.com", "8 eight@example.com", "9 nine@example.com"], await EmailsAsync());
    }

    [Fact]
    public async Task A_file_of_new_rows_whose_later_row_updates_a_stored_one_is_merged_with_every_row()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", Header +
            "1,one@example.com,2026-11-01T00:00:00Z,1\n2,two@example.com,2026-11-01T00:00:00Z,2\n3,three@example.com,2026-11-01T00:00:00Z,3\n");
        await CreateCourierAsync("users", "users.csv");
        await Api.RunAsync("users");

        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", Header +
            "10,ten@example.com,2026-11-02T00:00:00Z,10\n11,eleven@example.com,2026-11-02T00:00:00Z,11\n" +
            "2,new2@example.com,2026-11-02T00:00:00Z,2\n12,twelve@example.com,2026-11-02T00:00:00Z,12\n");
        var run = await Api.RunAsync("users");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var file = run.GetProperty("files")[0];
        Assert.Equal(3, file.GetProperty("rowsInserted").GetInt64());
        Assert.Equal(1, file.GetProperty("rowsUpdated").GetInt64());
        Assert.Equal(
            ["1 one@example.com", "2 new2@example.com", "3 three@example.com", "10 ten@example.com", "11 eleven@example.com", "12 twelve@example.com"],
            await EmailsAsync());
    }

    [Fact]
    public async Task A_snapshot_that_repeats_a_key_replaces_the_table_with_the_newest_row_per_key()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "snapshot.csv", Header + "9,nine@example.com,2026-11-01T00:00:00Z,9\n");
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync(threshold: 50m);
        await Api.PostOkAsync("/api/couriers", new
        {
            id = "snap", credentialId = "moto", loadType = "truncateAndUpsert",
            files = new[] { new { key = "snapshot.csv", feedId = "heap-users" } },
        });
        await Api.RunAsync("snap");
        Assert.Equal(["9 nine@example.com"], await EmailsAsync());

        await TestEnvironment.PutAsync(S3, Bucket, "snapshot.csv", RepeatedKeys);
        var run = await Api.RunAsync("snap");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(["1 new@example.com", "2 two@example.com", "3 new3@example.com"], await EmailsAsync());
    }

    [Fact]
    public async Task A_file_COPYed_into_the_table_and_forced_through_the_merge_again_finds_every_row_unchanged()
    {
        var rows = string.Concat(Enumerable.Range(1, 500).Select(i => $"{i},user{i}@example.com,2026-11-01T00:{i % 60:D2}:00Z,{i % 100}.{i % 7}\n"));
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", Header + rows);
        await CreateCourierAsync("users", "users.csv");

        var first = (await Api.RunAsync("users")).GetProperty("files")[0];
        var again = (await Api.RunAsync("users", new { forceReload = true })).GetProperty("files")[0];

        Assert.Equal(500, first.GetProperty("rowsInserted").GetInt64());
        Assert.Equal(0, again.GetProperty("rowsInserted").GetInt64());
        Assert.Equal(0, again.GetProperty("rowsUpdated").GetInt64());
        var loaded = await QueryAsync("SELECT count(*) AS n, count(DISTINCT _updated) AS lines, min(_source_file) AS source FROM heap.users");
        Assert.Equal(500L, loaded[0]["n"]);
        Assert.Equal(500L, loaded[0]["lines"]);
        Assert.Equal($"s3://{Bucket}/users.csv", loaded[0]["source"]);
    }

    private async Task<List<string>> EmailsAsync() =>
        (await QueryAsync("SELECT user_id, email FROM heap.users ORDER BY 1")).Select(r => $"{r["user_id"]} {r["email"]}").ToList();
}
