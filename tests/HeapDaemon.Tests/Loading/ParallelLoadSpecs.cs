using System.Text;
using HeapDaemon.Tests.Admin;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Loading;

/// <summary>Files of different domain tables load at the same time (Loading:Parallelism); each table's files keep their order.</summary>
public sealed class ParallelLoadSpecs : DaemonSpecs
{
    protected override IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string> { ["Loading:Parallelism"] = "3" };

    [Fact]
    public async Task Two_tables_load_together_each_in_its_files_order_and_a_failing_file_of_one_fails_alone_with_its_message()
    {
        // users: three files over the same ids; the third has an older row for id 2, which must not win.
        await TestEnvironment.PutAsync(S3, Bucket, "u1.csv", Users((1, "u1", "01"), (2, "u1", "01"), (3, "u1", "01")));
        await TestEnvironment.PutAsync(S3, Bucket, "u2.csv", Users((1, "u2", "02"), (2, "u2", "02"), (3, "u2", "02")));
        await TestEnvironment.PutAsync(S3, Bucket, "u3.csv", Users((1, "u3", "02"), (2, "u3", "01"), (3, "u3", "03")));
        // accounts: the second file is malformed throughout, so it fails; the files around it load.
        await TestEnvironment.PutAsync(S3, Bucket, "a1.csv", Users((10, "a1", "01"), (11, "a1", "01")));
        await TestEnvironment.PutAsync(S3, Bucket, "a2.csv", "user_id,email,joined_at,score\nten,x,2026-11-01T00:00:00Z,1\neleven,y,2026-11-01T00:00:00Z,1\n");
        await TestEnvironment.PutAsync(S3, Bucket, "a3.csv", Users((11, "a3", "02"), (12, "a3", "02")));
        await CreateFeedsAsync();
        await Api.PostOkAsync("/api/couriers", new
        {
            id = "two",
            credentialId = "moto",
            files = new[] { ("u1.csv", "users"), ("a1.csv", "accounts"), ("u2.csv", "users"), ("a2.csv", "accounts"), ("u3.csv", "users"), ("a3.csv", "accounts") }
                .Select(f => new { key = f.Item1, feedId = $"heap-{f.Item2}" }).ToArray(),
        });

        var run = await Api.RunAsync("two");

        Assert.Equal("failed", run.GetProperty("status").GetString());
        var files = run.GetProperty("files").EnumerateArray().ToList();
        Assert.Equal(["u1.csv", "a1.csv", "u2.csv", "a2.csv", "u3.csv", "a3.csv"], files.Select(f => f.GetProperty("key").GetString()));
        Assert.Equal(["loaded", "loaded", "loaded", "failed", "loaded", "loaded"], files.Select(f => f.GetProperty("status").GetString()));
        var failure = files[3].GetProperty("message").GetString()!;
        Assert.StartsWith($"s3://{Bucket}/a2.csv: 2 of 2 rows rejected (100%), above feed 'heap-accounts' error threshold of 1%; nothing from this file was loaded.", failure);
        Assert.Contains(failure, run.GetProperty("message").GetString());
        Assert.Equal(["1|u3", "2|u2", "3|u3"], await RowsAsync("users"));
        Assert.Equal(["10|a1", "11|a3", "12|a3"], await RowsAsync("accounts"));
    }

    [Fact]
    public async Task A_cancel_while_files_of_two_tables_are_in_flight_rolls_both_back()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "users.csv", FaultSpecs.UsersCsv(150_000));
        await TestEnvironment.PutAsync(S3, Bucket, "accounts.csv", FaultSpecs.UsersCsv(150_000));
        await CreateFeedsAsync();
        await Api.PostOkAsync("/api/couriers", new
        {
            id = "big",
            credentialId = "moto",
            files = new[] { new { key = "users.csv", feedId = "heap-users" }, new { key = "accounts.csv", feedId = "heap-accounts" } },
        });
        var runId = (await Api.PostOkAsync("/api/couriers/big/runs")).GetProperty("runId").GetGuid();

        // Both files are being loaded, each has rows in its table's transaction.
        for (var deadline = DateTime.UtcNow.AddSeconds(120); ; await Task.Delay(20))
        {
            var view = await Api.GetOkAsync($"/api/runs/{runId}");
            if (view.TryGetProperty("inFlight", out var inFlight) && inFlight.ValueKind == System.Text.Json.JsonValueKind.Array &&
                inFlight.EnumerateArray().Count(f => f.GetProperty("rowsRead").GetInt64() > 0) == 2) break;
            Assert.True(DateTime.UtcNow < deadline, $"the two files were never in flight together: {view}");
            // Not ended before both were in flight (a loaded machine may still have it queued).
            Assert.Contains(view.GetProperty("run").GetProperty("status").GetString(), new[] { "queued", "running" });
        }
        await Api.PostOkAsync($"/api/runs/{runId}/cancel");
        var run = await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));

        Assert.Equal("cancelled", run.GetProperty("status").GetString());
        Assert.All(run.GetProperty("files").EnumerateArray(), f => Assert.NotEqual("loaded", f.GetProperty("status").GetString()));
        Assert.Empty(await RowsAsync("users"));
        Assert.Empty(await RowsAsync("accounts"));
        Assert.Empty(await QueryAsync("SELECT 1 FROM heapd.load_ledger"));
    }

    private static string Users(params (int Id, string File, string Day)[] rows)
    {
        var text = new StringBuilder("user_id,email,joined_at,score\n");
        foreach (var (id, file, day) in rows) text.Append($"{id},{file},2026-11-{day}T00:00:00Z,1.00\n");
        return text.ToString();
    }

    private async Task CreateFeedsAsync()
    {
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/feeds", UsersFeed("accounts"));
        await Api.PostOkAsync("/api/feeds/heap-accounts/activate");
    }

    private async Task<List<string>> RowsAsync(string table) =>
        (await QueryAsync($"SELECT user_id, email FROM heap.{table} ORDER BY user_id")).Select(r => $"{r["user_id"]}|{r["email"]}").ToList();
}
