using System.Net;
using System.Text.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Couriers;

/// <summary>
/// A courier whose journal fails stops; the registry's backoff supervisor brings it back, and meanwhile it says so (to
/// requests, and to webhooks of courierStopped).
/// </summary>
public sealed class CourierRestartSpecs : DaemonSpecs
{
    [Fact]
    public async Task A_courier_whose_journal_cannot_be_read_answers_that_it_is_restarting_while_the_others_work_and_comes_back_once_it_can()
    {
        await using var listener = await WebhookListener.StartAsync();
        await Api.PostOkAsync("/api/notifications", new { id = "stops", url = listener.Url("/hooks/stops"), events = new[] { "courierStopped" } });
        await CreateCourierAsync("broken", "a.csv");
        await CreateCourierAsync("fine", "b.csv");
        await Daemon.DisposeAsync();
        var configured = await QueryAsync("SELECT message FROM akka.journal WHERE persistence_id = 'courier-broken' AND sequence_number = 1");
        await QueryAsync("UPDATE akka.journal SET message = convert_to('not json', 'UTF8') WHERE persistence_id = 'courier-broken'");
        StartDaemon();

        // Its recovery fails, so it stops; while it waits to be started again, requests get a 503 that says why. (A
        // request that reaches it while it is recovering is lost with it and times out, so it is asked again.)
        var answer = await PollAsync("/api/couriers/broken", (status, body) => status == HttpStatusCode.ServiceUnavailable && body.Contains("restarting"));
        Assert.Contains("courier 'broken' is restarting after a failure", answer);
        Assert.Equal(HttpStatusCode.OK, (await Api.GetAsync("/api/couriers/fine")).StatusCode);
        var stopped = JsonDocument.Parse((await listener.WaitForAsync("/hooks/stops", 1))[0].Body).RootElement;
        Assert.Equal("courierStopped", stopped.GetProperty("type").GetString());
        Assert.Equal("broken", stopped.GetProperty("courierId").GetString());
        Assert.StartsWith("courier 'broken' stopped unexpectedly (its journal failed", stopped.GetProperty("message").GetString());

        await QueryAsync($"UPDATE akka.journal SET message = '\\x{Convert.ToHexString((byte[])configured[0]["message"]!)}'::bytea WHERE persistence_id = 'courier-broken'");
        var view = JsonDocument.Parse(await PollAsync("/api/couriers/broken", (status, _) => status == HttpStatusCode.OK)).RootElement;
        Assert.Equal("a.csv", view.GetProperty("config").GetProperty("files")[0].GetProperty("key").GetString());
    }

    /// <summary>Asks until the answer is the one wanted, and returns its body; the restart backoff is at most 2 min (and its jitter).</summary>
    private async Task<string> PollAsync(string path, Func<HttpStatusCode, string, bool> wanted)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            using var response = await Api.GetAsync(path);
            var body = await response.Content.ReadAsStringAsync();
            if (wanted(response.StatusCode, body)) return body;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"GET {path} still answers {(int)response.StatusCode} {body}");
            await Task.Delay(200);
        }
    }
}
