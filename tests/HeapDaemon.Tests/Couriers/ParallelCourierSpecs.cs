using System.Text;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Couriers;

/// <summary>Each courier is its own actor with its own run: two couriers load at the same time.</summary>
public sealed class ParallelCourierSpecs : DaemonSpecs
{
    [Fact]
    public async Task Runs_of_two_different_couriers_overlap_in_time()
    {
        await Api.PostOkAsync("/api/feeds", UsersFeed("left"));
        await Api.PostOkAsync("/api/feeds/heap-left/activate");
        await Api.PostOkAsync("/api/feeds", UsersFeed("right"));
        await Api.PostOkAsync("/api/feeds/heap-right/activate");
        await Api.PostOkAsync("/api/credentials", new { id = "moto", kind = "s3", bucket = Bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });
        // Big enough that each run takes a good second, so overlap is not luck of timing.
        var keys = Enumerable.Range(0, 4).Select(i => $"part-{i}.csv").ToArray();
        foreach (var key in keys) await TestEnvironment.PutAsync(S3, Bucket, key, Users(20_000));
        foreach (var side in new[] { "left", "right" })
            await Api.PostOkAsync("/api/couriers", new { id = side, credentialId = "moto", files = keys.Select(k => new { key = k, feedId = $"heap-{side}" }).ToArray() });

        var accepted = await Task.WhenAll(Api.PostOkAsync("/api/couriers/left/runs"), Api.PostOkAsync("/api/couriers/right/runs"));
        var runs = await Task.WhenAll(accepted.Select(a => Api.WaitForRunAsync(a.GetProperty("runId").GetGuid(), TimeSpan.FromMinutes(2))));

        Assert.All(runs, r => Assert.Equal("succeeded", r.GetProperty("status").GetString()));
        var (left, right) = (Span(runs[0]), Span(runs[1]));
        Assert.True(left.Start < right.End && right.Start < left.End, $"runs did not overlap: left {left}, right {right}");
    }

    private static (DateTimeOffset Start, DateTimeOffset End) Span(System.Text.Json.JsonElement run) =>
        (run.GetProperty("startedAt").GetDateTimeOffset(), run.GetProperty("finishedAt").GetDateTimeOffset());

    private static string Users(int rows)
    {
        var csv = new StringBuilder("user_id,email,joined_at,score\n");
        for (var i = 0; i < rows; i++) csv.Append(i).Append(",u").Append(i).Append("@example.com,2026-11-01T00:00:00Z,1\n");
        return csv.ToString();
    }
}
