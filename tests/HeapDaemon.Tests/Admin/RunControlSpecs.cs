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
