using System.Net;
using System.Text.Json;
using Amazon.S3.Model;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Heap;

/// <summary>The skip resolution for a Heap dump that cannot apply and blocks the dumps after it.</summary>
public sealed class HeapDumpSkipSpecs : DaemonSpecs
{
    [Theory]
    [InlineData("missing")]
    [InlineData("corrupt")]
    public async Task A_blocked_dump_skipped_by_request_is_recorded_as_skipped_and_later_dumps_apply_at_the_next_run(string fault)
    {
        var export = new HeapExportGenerator(37, Bucket).Generate();
        var (first, blocked, last) = (export.DumpIds[0], export.DumpIds[1], export.DumpIds[2]);
        var broken = export.ObjectsOf(blocked).First(o => o.Key.Contains("/pageviews/part-00001"));
        await export.UploadAsync(S3, export.Objects.Where(o => o != broken));
        if (fault == "corrupt") await S3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = broken.Key, ContentBody = "not avro at all" });
        await EnsureMotoCredentialAsync();
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });

        var failed = await Api.RunAsync("heap");
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        var runId = failed.GetProperty("id").GetGuid();
        Assert.Contains($"POST /api/runs/{runId}/dumps/{blocked}/skip", failed.GetProperty("message").GetString());
        Assert.Equal(fault == "missing" ? "missing" : "failed", FileOf(failed, broken.Key).GetProperty("status").GetString());
        var blocking = (await Api.GetOkAsync("/api/couriers/heap")).GetProperty("heapDumps");
        Assert.Equal(blocked, blocking.GetProperty("blocking")[0].GetProperty("dumpId").GetInt64());
        Assert.Equal(runId, blocking.GetProperty("blocking")[0].GetProperty("runId").GetGuid());
        Assert.Equal(first, blocking.GetProperty("lastApplied").GetInt64());

        // Only the dump that failed can be skipped.
        var notFailed = await Api.PostAsync($"/api/runs/{runId}/dumps/{last}/skip", null);
        Assert.Equal(HttpStatusCode.NotFound, notFailed.StatusCode);
        Assert.Contains($"dump {last} of courier 'heap' has not failed", await notFailed.Content.ReadAsStringAsync());
        var applied = await Api.PostAsync($"/api/runs/{runId}/dumps/{first}/skip", null);
        Assert.Equal(HttpStatusCode.Conflict, applied.StatusCode);
        Assert.Contains("is applied", await applied.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.NotFound, (await Api.PostAsync($"/api/runs/{Guid.NewGuid()}/dumps/{blocked}/skip", null)).StatusCode);

        var skipped = (await Api.PostOkAsync($"/api/runs/{runId}/dumps/{blocked}/skip")).GetProperty("run");
        Assert.Contains($"dump {blocked} skipped by request", skipped.GetProperty("message").GetString());
        var file = FileOf(skipped, broken.Key);
        Assert.Equal("skipped", file.GetProperty("status").GetString());
        Assert.StartsWith($"skipped with dump {blocked} by request", file.GetProperty("message").GetString());
        var dumps = (await Api.GetOkAsync("/api/couriers/heap")).GetProperty("heapDumps");
        Assert.Empty(dumps.GetProperty("blocking").EnumerateArray());
        Assert.Equal(blocked, dumps.GetProperty("skipped")[0].GetProperty("dumpId").GetInt64());
        Assert.Equal(HttpStatusCode.Conflict, (await Api.PostAsync($"/api/runs/{runId}/dumps/{blocked}/skip", null)).StatusCode);

        var next = await Api.RunAsync("heap");
        Assert.True(next.GetProperty("status").GetString() == "succeeded", next.ToString());
        Assert.StartsWith($"1 dump(s) applied ({last})", next.GetProperty("message").GetString());
        Assert.DoesNotContain(next.GetProperty("files").EnumerateArray(), f => f.GetProperty("key").GetString()!.Contains($"sync_{blocked}/"));
        var statuses = await QueryAsync("SELECT dump_id, status FROM heapd.heap_dumps ORDER BY dump_id");
        Assert.Equal([(first, "applied"), (blocked, "skipped"), (last, "applied")], statuses.Select(r => ((long)r["dump_id"]!, (string)r["status"]!)));
        dumps = (await Api.GetOkAsync("/api/couriers/heap")).GetProperty("heapDumps");
        Assert.Equal(2, dumps.GetProperty("applied").GetInt32());
        Assert.Equal(last, dumps.GetProperty("lastApplied").GetInt64());
    }

    private static JsonElement FileOf(JsonElement run, string key) =>
        run.GetProperty("files").EnumerateArray().Single(f => f.GetProperty("key").GetString() == key);
}
