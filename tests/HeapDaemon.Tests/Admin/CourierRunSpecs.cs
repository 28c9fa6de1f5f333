using System.Text.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>The first real path, through HTTP, the actor system, moto and PostgreSQL.</summary>
public sealed class CourierRunSpecs : DaemonSpecs
{
    private const string Users = """
        user_id,email,joined_at,score
        1,ada@example.com,2026-11-01T10:00:00Z,1.50
        2,"grace, hopper@example.com",2026-11-02T10:00:00Z,2
        3,alan@example.com,2026-11-03 10:00:00,
        4,"edsger ""ewd"" dijkstra",2026-11-04T10:00:00+02:00,-3.25
        5,barbara@example.com,2026-11-05T10:00:00Z,100
        """;

    [Fact]
    public async Task A_run_loads_exactly_the_files_rows_and_a_rerun_of_the_same_file_loads_nothing_new()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "exports/users.csv", Users);
        await CreateCourierAsync("users", "exports/users.csv");

        var run = await Api.RunAsync("users");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var file = run.GetProperty("files")[0];
        Assert.Equal("loaded", file.GetProperty("status").GetString());
        Assert.Equal(5, file.GetProperty("rowsInserted").GetInt64());
        var rows = await QueryAsync("SELECT user_id, email, joined_at, score, _pk, _source_file FROM heap.users ORDER BY user_id");
        Assert.Equal(
            [
                "1|ada@example.com|2026-11-01T10:00:00Z|1.50",
                "2|grace, hopper@example.com|2026-11-02T10:00:00Z|2.00",
                "3|alan@example.com|2026-11-03T10:00:00Z|",
                "4|edsger \"ewd\" dijkstra|2026-11-04T08:00:00Z|-3.25",
                "5|barbara@example.com|2026-11-05T10:00:00Z|100.00",
            ],
            rows.Select(r => $"{r["user_id"]}|{r["email"]}|{(DateTime)r["joined_at"]!:yyyy-MM-dd'T'HH:mm:ss'Z'}|{r["score"]}"));
        Assert.All(rows, r => Assert.Equal($"s3://{Bucket}/exports/users.csv", r["_source_file"]));
        Assert.Equal(["1", "2", "3", "4", "5"], rows.Select(r => (string)r["_pk"]!));

        var rerun = await Api.RunAsync("users");

        Assert.Equal("succeeded", rerun.GetProperty("status").GetString());
        var skipped = rerun.GetProperty("files")[0];
        Assert.Equal("skipped", skipped.GetProperty("status").GetString());
        Assert.Contains("nothing new to load", skipped.GetProperty("message").GetString());
        Assert.Equal(5L, (await QueryAsync("SELECT count(*) AS n FROM heap.users"))[0]["n"]);
        var metrics = await Daemon.CreateClient().GetStringAsync("/metrics");
        Assert.Contains("heapd_runs_total{status=\"succeeded\"} 2\n", metrics);
        Assert.Contains("heapd_files_total{status=\"loaded\"} 1\n", metrics);
        Assert.Contains("heapd_files_total{status=\"skipped\"} 1\n", metrics);
        Assert.Contains("heapd_rows_loaded_total 5\n", metrics);
        Assert.Contains("heapd_run_duration_seconds_count 2\n", metrics);
    }

    [Fact]
    public async Task A_forced_reload_of_a_file_with_two_edited_rows_changes_exactly_those_two_rows()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "exports/users.csv", Users);
        await CreateCourierAsync("users", "exports/users.csv");
        await Api.RunAsync("users");
        var before = await SnapshotAsync();

        var edited = Users
            .Replace("2,\"grace, hopper@example.com\",2026-11-02T10:00:00Z,2", "2,grace@navy.mil,2026-11-02T10:00:00Z,2")
            .Replace("5,barbara@example.com,2026-11-05T10:00:00Z,100", "5,barbara@example.com,2026-11-20T10:00:00Z,101");
        await TestEnvironment.PutAsync(S3, Bucket, "exports/users.csv", edited);
        var run = await Api.RunAsync("users", new { forceReload = true });

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var file = run.GetProperty("files")[0];
        Assert.Equal(0, file.GetProperty("rowsInserted").GetInt64());
        Assert.Equal(2, file.GetProperty("rowsUpdated").GetInt64());
        var after = await SnapshotAsync();
        var changed = before.Keys.Where(k => before[k] != after[k]).ToList();
        Assert.Equal(["2", "5"], changed);
        Assert.StartsWith("grace@navy.mil|", after["2"]);
        Assert.StartsWith("barbara@example.com|2026-11-20T10:00:00Z|101.00|", after["5"]);
    }

    [Fact]
    public async Task Courier_state_survives_a_daemon_restart()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "exports/users.csv", Users);
        await CreateCourierAsync("users", "exports/users.csv");
        var run = await Api.RunAsync("users", new { date = "2026-11-26" });
        var before = await Api.GetOkAsync("/api/couriers/users");

        await RestartDaemonAsync();

        var after = await Api.GetOkAsync("/api/couriers/users");
        Assert.Equal(before.GetProperty("config").GetRawText(), after.GetProperty("config").GetRawText());
        Assert.Equal("2026-11-26", after.GetProperty("lastRunDate").GetString());
        Assert.Equal(run.GetProperty("id").GetGuid(), after.GetProperty("recentRuns")[0].GetProperty("runId").GetGuid());
        // The restarted daemon still decrypts the credential's secret and still knows what it loaded.
        var rerun = await Api.RunAsync("users");
        Assert.Equal("skipped", rerun.GetProperty("files")[0].GetProperty("status").GetString());
        // The courier shows its runs as heapd.runs has them: the moment a run has ended, it is among them.
        Assert.Equal(rerun.GetProperty("id").GetGuid(), (await Api.GetOkAsync("/api/couriers/users")).GetProperty("recentRuns")[0].GetProperty("runId").GetGuid());
        // The journal holds small, readable events, not rows, and no copy of the runs.
        var journal = await QueryAsync("SELECT manifest, convert_from(message, 'UTF8') AS json FROM akka.journal WHERE persistence_id = 'courier-users' ORDER BY sequence_number");
        Assert.Equal(["CourierConfigured"], journal.Select(e => (string)e["manifest"]!));
        Assert.Contains("\"credentialId\":\"moto\"", (string)journal[0]["json"]!);
    }

    [Fact]
    public async Task After_a_master_key_rotation_stored_secrets_still_open_and_are_sealed_under_the_new_key()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "exports/users.csv", Users);
        await CreateCourierAsync("users", "exports/users.csv");
        var oldKey = MasterKey;
        MasterKey = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));

        await RestartDaemonAsync(oldKey);
        Assert.Equal("succeeded", (await Api.RunAsync("users")).GetProperty("status").GetString());

        await RestartDaemonAsync();
        var run = await Api.RunAsync("users", new { forceReload = true });
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
    }

    [Fact]
    public async Task When_the_same_key_appears_twice_the_newest_last_updated_wins_and_an_older_file_loaded_later_changes_nothing()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "new.csv", """
            user_id,email,joined_at,score
            1,first@example.com,2026-11-10T00:00:00Z,1
            1,second@example.com,2026-11-10T00:00:00Z,2
            2,newest@example.com,2026-11-12T00:00:00Z,3
            2,older@example.com,2026-11-11T00:00:00Z,4
            """);
        await TestEnvironment.PutAsync(S3, Bucket, "old.csv", """
            user_id,email,joined_at,score
            1,stale@example.com,2026-11-01T00:00:00Z,9
            2,stale@example.com,2026-11-01T00:00:00Z,9
            """);
        await CreateCourierAsync("two-files", "new.csv", "old.csv");

        var run = await Api.RunAsync("two-files");

        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var rows = await QueryAsync("SELECT user_id, email FROM heap.users ORDER BY user_id");
        // Equal timestamps: the later line wins. Different: the newer one, wherever it stands.
        Assert.Equal(["1 second@example.com", "2 newest@example.com"], rows.Select(r => $"{r["user_id"]} {r["email"]}"));
        Assert.Equal(0, run.GetProperty("files")[1].GetProperty("rowsUpdated").GetInt64());
    }

    private async Task<Dictionary<string, string>> SnapshotAsync() =>
        (await QueryAsync("SELECT * FROM heap.users")).ToDictionary(
            r => (string)r["_pk"]!,
            r => $"{r["email"]}|{(DateTime)r["joined_at"]!:yyyy-MM-dd'T'HH:mm:ss'Z'}|{r["score"]}|{r["_updated"]}|{r["_loaded_at"]}");
}
