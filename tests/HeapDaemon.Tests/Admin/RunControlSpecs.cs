using System.Net;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>Amperity's resolutions: cancel a run, retry it, skip a failed file.</summary>
public sealed class RunControlSpecs : DaemonSpecs
{
    [Fact]
    public async Task A_cancelled_run_commits_nothing_partial_and_a_retry_loads_everything()
    {
        const int rows = 150_000;
        await TestEnvironment.PutAsync(S3, Bucket, "big.csv", FaultSpecs.UsersCsv(rows));
        await CreateCourierAsync("big", "big.csv");
        var runId = (await Api.PostOkAsync("/api/couriers/big/runs")).GetProperty("runId").GetGuid();
        await Api.WaitForProgressAsync(runId);

        var cancel = await Api.PostAsync($"/api/runs/{runId}/cancel", null);
        var run = await Api.WaitForRunAsync(runId, TimeSpan.FromSeconds(120));

        Assert.Equal(HttpStatusCode.Accepted, cancel.StatusCode);
        Assert.Equal("cancelled", run.GetProperty("status").GetString());
        Assert.Empty(await QueryAsync("SELECT 1 FROM heap.users LIMIT 1"));
        Assert.Equal(HttpStatusCode.Conflict, (await Api.PostAsync($"/api/runs/{runId}/cancel", null)).StatusCode);

        var retried = await Api.PostOkAsync($"/api/runs/{runId}/retry");
        var retry = await Api.WaitForRunAsync(retried.GetProperty("runId").GetGuid(), TimeSpan.FromSeconds(120));
        Assert.Equal("succeeded", retry.GetProperty("status").GetString());
        Assert.Equal((long)rows, (await QueryAsync("SELECT count(*) AS n FROM heap.users"))[0]["n"]);
        Assert.Equal(HttpStatusCode.Conflict, (await Api.PostAsync($"/api/runs/{retry.GetProperty("id").GetGuid()}/retry", null)).StatusCode);
    }

    [Fact]
    public async Task A_retry_repeats_the_whole_request_its_date_range_and_every_option()
    {
        const string header = "user_id,email,joined_at,score\n";
        await TestEnvironment.PutAsync(S3, Bucket, "daily/2026-03-01.csv", header + "1,a@example.com,2026-03-01T00:00:00Z,1\n");
        await TestEnvironment.PutAsync(S3, Bucket, "daily/2026-03-02.csv", header + "2,b@example.com,2026-03-02T00:00:00Z,1\n");
        await TestEnvironment.PutAsync(S3, Bucket, "daily/2026-03-03.csv", header + "3,c@example.com,never,1\n");
        // 2026-03-04 has no file: skipMissingFiles lets the run go on without it.
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "daily", credentialId = "moto", files = new[] { new { pattern = "'daily/'yyyy-MM-dd'.csv'", feedId = "heap-users" } } });
        var failed = await Api.RunAsync("daily", new { from = "2026-03-01", to = "2026-03-05", skipMissingFiles = true, forceReload = true });
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        await TestEnvironment.PutAsync(S3, Bucket, "daily/2026-03-03.csv", header + "3,c@example.com,2026-03-03T00:00:00Z,1\n");

        var accepted = await Api.PostOkAsync($"/api/runs/{failed.GetProperty("id").GetGuid()}/retry");
        var retry = await Api.WaitForRunAsync(accepted.GetProperty("runId").GetGuid());

        Assert.True(retry.GetProperty("status").GetString() == "succeeded", retry.ToString());
        Assert.Equal("2026-03-01", retry.GetProperty("runDate").GetString());
        Assert.Equal("2026-03-05", retry.GetProperty("runDateTo").GetString());
        Assert.Equal(failed.GetProperty("request").GetRawText(), retry.GetProperty("request").GetRawText());
        Assert.Equal("retry", retry.GetProperty("trigger").GetString());
        Assert.Equal(failed.GetProperty("id").GetGuid(), retry.GetProperty("retryOf").GetGuid());
        // forceReload: the days loaded before are loaded again, not skipped; skipMissingFiles: the missing day is noted.
        Assert.Equal(["loaded", "loaded", "loaded", "missing"], retry.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("status").GetString()));
        Assert.Equal([1L, 2L, 3L], (await QueryAsync("SELECT user_id FROM heap.users ORDER BY user_id")).Select(r => (long)r["user_id"]!));
    }

    [Fact]
    public async Task A_retry_of_a_run_asked_for_without_a_date_runs_for_the_original_day_not_the_day_of_the_retry()
    {
        await CreateCourierAsync("today", "missing.csv");
        var failed = await Api.RunAsync("today");
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        // A run's day is fixed when it is asked for: make the original look older, as it would be a day later.
        await QueryAsync($"UPDATE heapd.runs SET run_date = '2026-02-14', run_date_to = '2026-02-15' WHERE id = '{failed.GetProperty("id").GetGuid()}'");
        await TestEnvironment.PutAsync(S3, Bucket, "missing.csv", "user_id,email,joined_at,score\n1,a@example.com,2026-02-14T00:00:00Z,1\n");

        var accepted = await Api.PostOkAsync($"/api/runs/{failed.GetProperty("id").GetGuid()}/retry");
        var retry = await Api.WaitForRunAsync(accepted.GetProperty("runId").GetGuid());

        Assert.Equal("succeeded", retry.GetProperty("status").GetString());
        Assert.Equal("2026-02-14", retry.GetProperty("runDate").GetString());
        Assert.Equal("2026-02-14", retry.GetProperty("request").GetProperty("date").GetString());
    }

    [Fact]
    public async Task A_queued_run_can_be_cancelled_before_it_starts()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "big.csv", FaultSpecs.UsersCsv(100_000));
        await CreateCourierAsync("queue", "big.csv");
        var first = (await Api.PostOkAsync("/api/couriers/queue/runs")).GetProperty("runId").GetGuid();
        var second = (await Api.PostOkAsync("/api/couriers/queue/runs", new { forceReload = true })).GetProperty("runId").GetGuid();

        Assert.Equal(HttpStatusCode.Accepted, (await Api.PostAsync($"/api/runs/{second}/cancel", null)).StatusCode);

        var cancelled = await Api.WaitForRunAsync(second);
        Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
        Assert.Equal(0, cancelled.GetProperty("files").GetArrayLength());
        Assert.Equal("succeeded", (await Api.WaitForRunAsync(first, TimeSpan.FromSeconds(120))).GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_skipped_file_lets_the_run_succeed_and_later_runs_pass_over_that_version()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "bad.csv", "user_id,email,joined_at,score\n1,a@example.com,never,1\n");
        await TestEnvironment.PutAsync(S3, Bucket, "good.csv", "user_id,email,joined_at,score\n2,b@example.com,2026-11-01T00:00:00Z,1\n");
        await CreateCourierAsync("mixed", "bad.csv", "good.csv");
        var run = await Api.RunAsync("mixed");
        var runId = run.GetProperty("id").GetGuid();
        Assert.Equal("failed", run.GetProperty("status").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await Api.PostAsync($"/api/runs/{runId}/files/1/skip", null)).StatusCode);

        var resolved = await Api.PostOkAsync($"/api/runs/{runId}/files/0/skip");

        Assert.Equal("succeeded", resolved.GetProperty("run").GetProperty("status").GetString());
        Assert.StartsWith("skipped by request: ", resolved.GetProperty("run").GetProperty("files")[0].GetProperty("message").GetString());
        var next = await Api.RunAsync("mixed");
        Assert.Equal("succeeded", next.GetProperty("status").GetString());
        Assert.Contains("was skipped by request", next.GetProperty("files")[0].GetProperty("message").GetString());
        Assert.Equal([2L], (await QueryAsync("SELECT user_id FROM heap.users")).Select(r => (long)r["user_id"]!));
    }

    [Fact]
    public async Task Skipping_a_file_of_a_run_or_a_file_that_does_not_exist_answers_404()
    {
        await TestEnvironment.PutAsync(S3, Bucket, "one.csv", "user_id,email,joined_at,score\n1,a@example.com,2026-11-01T00:00:00Z,1\n");
        await CreateCourierAsync("one", "one.csv");
        var run = await Api.RunAsync("one");
        var noRun = Guid.NewGuid();

        var missingRun = await Api.PostAsync($"/api/runs/{noRun}/files/0/skip", null);
        var missingFile = await Api.PostAsync($"/api/runs/{run.GetProperty("id").GetGuid()}/files/7/skip", null);

        Assert.Equal(HttpStatusCode.NotFound, missingRun.StatusCode);
        Assert.Contains($"no run '{noRun}'", await missingRun.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, missingFile.StatusCode);
        Assert.Contains("has no file 7", await missingFile.Content.ReadAsStringAsync());
    }
}
