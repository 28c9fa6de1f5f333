using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Couriers;

/// <summary>
/// Scheduled couriers in the real daemon, on a clock the tests move (<see cref="ShiftedClock"/>): time flows, so
/// timers fire, but "now" is wherever the test puts it, and days of downtime pass between two daemon starts.
/// </summary>
public sealed class ScheduledRunSpecs : DaemonSpecs
{
    private const string Header = "user_id,email,joined_at,score\n";

    [Fact]
    public async Task A_scheduled_courier_runs_at_its_tick_for_the_local_date_minus_N_days_and_shows_its_next_tick()
    {
        // 05:59:45 in Paris; the courier runs at 06:00 Paris time for the day before. Set once the daemon is up, with
        // room for a slow machine to create the courier and ask for it before the tick.
        var clock = ShiftedClock.At(DateTimeOffset.Parse("2026-11-27T04:59:00Z"));
        Clock = clock;
        await RestartDaemonAsync();
        await TestEnvironment.PutAsync(S3, Bucket, "exports/2026/11/26/users.csv", Header + "1,a@example.com,2026-11-26T00:00:00Z,1\n");
        clock.SetNow(DateTimeOffset.Parse("2026-11-27T04:59:45Z"));
        await CreateScheduledCourierAsync("nightly", new { cron = "0 6 * * *", timeZone = "Europe/Paris", daysOlder = 1 });

        Assert.Equal(DateTimeOffset.Parse("2026-11-27T05:00:00Z"), (await Api.GetOkAsync("/api/couriers/nightly")).GetProperty("nextRunAt").GetDateTimeOffset());
        var run = await WaitForScheduledRunsAsync("nightly", 1);

        Assert.Equal("2026-11-26", run[0].GetProperty("runDate").GetString());
        Assert.Equal("schedule", run[0].GetProperty("trigger").GetString());
        var finished = await Api.WaitForRunAsync(run[0].GetProperty("id").GetGuid());
        Assert.Equal("succeeded", finished.GetProperty("status").GetString());
        Assert.Equal(["exports/2026/11/26/users.csv"], finished.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("key").GetString()));
        Assert.Equal(DateTimeOffset.Parse("2026-11-28T05:00:00Z"), (await Api.GetOkAsync("/api/couriers/nightly")).GetProperty("nextRunAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task After_days_of_downtime_the_courier_runs_once_for_the_latest_missed_tick_and_not_again_after_another_restart()
    {
        var clock = ShiftedClock.At(DateTimeOffset.Parse("2026-11-20T12:00:00Z"));
        Clock = clock;
        await RestartDaemonAsync();
        await TestEnvironment.PutAsync(S3, Bucket, "exports/2026/11/24/users.csv", Header + "1,a@example.com,2026-11-24T00:00:00Z,1\n");
        await CreateScheduledCourierAsync("daily", new { cron = "0 6 * * *", timeZone = "UTC" });
        await Daemon.DisposeAsync();

        // Down from the 20th, noon, to the 24th, noon: the ticks of the 21st, 22nd, 23rd and 24th were missed.
        clock.SetNow(DateTimeOffset.Parse("2026-11-24T12:00:00Z"));
        StartDaemon();

        var runs = await WaitForScheduledRunsAsync("daily", 1);
        Assert.Equal("2026-11-24", runs[0].GetProperty("runDate").GetString());
        Assert.Equal("succeeded", (await Api.WaitForRunAsync(runs[0].GetProperty("id").GetGuid())).GetProperty("status").GetString());

        await RestartDaemonAsync();
        await Api.GetOkAsync("/api/couriers/daily"); // the courier has recovered and checked its schedule
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.Single(await ScheduledRunsAsync("daily"));
        Assert.Equal(DateTimeOffset.Parse("2026-11-25T06:00:00Z"), (await Api.GetOkAsync("/api/couriers/daily")).GetProperty("nextRunAt").GetDateTimeOffset());
        var journal = await QueryAsync("SELECT manifest, convert_from(message, 'UTF8') AS json FROM akka.journal WHERE persistence_id = 'courier-daily' AND manifest = 'ScheduledRunStarted'");
        Assert.Contains("\"tick\":\"2026-11-24T06:00:00+00:00\"", (string)Assert.Single(journal)["json"]!);
    }

    [Fact]
    public async Task A_retry_of_a_failed_scheduled_run_runs_for_the_scheduled_day_and_says_it_is_a_retry()
    {
        // Set once the daemon is up, with room for a slow machine to create the courier before the tick: a schedule
        // made after its tick waits for the next one.
        var clock = ShiftedClock.At(DateTimeOffset.Parse("2026-11-27T05:59:00Z"));
        Clock = clock;
        await RestartDaemonAsync();
        clock.SetNow(DateTimeOffset.Parse("2026-11-27T05:59:45Z"));
        await CreateScheduledCourierAsync("nightly", new { cron = "0 6 * * *", timeZone = "UTC", daysOlder = 3 });
        var scheduled = (await WaitForScheduledRunsAsync("nightly", 1))[0];
        var failed = await Api.WaitForRunAsync(scheduled.GetProperty("id").GetGuid());
        Assert.Equal("failed", failed.GetProperty("status").GetString());
        await TestEnvironment.PutAsync(S3, Bucket, "exports/2026/11/24/users.csv", Header + "1,a@example.com,2026-11-24T00:00:00Z,1\n");

        var accepted = await Api.PostOkAsync($"/api/runs/{failed.GetProperty("id").GetGuid()}/retry");
        var retry = await Api.WaitForRunAsync(accepted.GetProperty("runId").GetGuid());

        Assert.Equal("succeeded", retry.GetProperty("status").GetString());
        Assert.Equal("2026-11-24", retry.GetProperty("runDate").GetString());
        Assert.Equal("retry", retry.GetProperty("trigger").GetString());
        Assert.Equal(failed.GetProperty("id").GetGuid(), retry.GetProperty("retryOf").GetGuid());
        Assert.Equal(["exports/2026/11/24/users.csv"], retry.GetProperty("files").EnumerateArray().Select(f => f.GetProperty("key").GetString()));
    }

    [Fact]
    public async Task A_new_schedule_does_not_run_for_ticks_before_it_was_set_and_an_inactive_one_never_runs()
    {
        // Half a minute after the hourly tick of 12:00: that tick is older than the schedule.
        Clock = ShiftedClock.At(DateTimeOffset.Parse("2026-11-24T12:00:30Z"));
        await RestartDaemonAsync();
        await CreateScheduledCourierAsync("fresh", new { cron = "0 * * * *", timeZone = "UTC" });
        await CreateScheduledCourierAsync("off", new { cron = "* * * * *", timeZone = "UTC", active = false });

        Assert.Null(Nullable((await Api.GetOkAsync("/api/couriers/off")), "nextRunAt"));
        Assert.Equal(DateTimeOffset.Parse("2026-11-24T13:00:00Z"), (await Api.GetOkAsync("/api/couriers/fresh")).GetProperty("nextRunAt").GetDateTimeOffset());
        // A wrongly due tick would start at once, on configuration.
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.Empty(await ScheduledRunsAsync("fresh"));
        Assert.Empty(await ScheduledRunsAsync("off"));
    }

    [Theory]
    [InlineData("""{"cron":"0 6 * *"}""", "is not a 5-field cron expression")]
    [InlineData("""{"cron":"0 6 * * *","timeZone":"Pacific Time"}""", "'Pacific Time' is not an IANA time zone")]
    [InlineData("""{"cron":"0 6 * * *","daysOlder":-2}""", "daysOlder must be 0-366")]
    [InlineData("""{"cron":"0 6 * * *","every":"day"}""", "not valid")]
    public async Task A_schedule_that_is_not_valid_is_refused(string schedule, string reason)
    {
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync();

        var response = await Api.PostAsync("/api/couriers", new StringContent(
            $$"""{"id":"bad","credentialId":"moto","files":[{"key":"a.csv","feedId":"heap-users"}],"schedule":{{schedule}}}""",
            System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, await response.Content.ReadAsStringAsync());
    }

    private async Task CreateScheduledCourierAsync(string id, object schedule)
    {
        await EnsureMotoCredentialAsync();
        await EnsureUsersFeedAsync();
        var response = await Api.PostAsJsonAsync("/api/couriers", new
        {
            id,
            credentialId = "moto",
            files = new[] { new { pattern = "'exports/'yyyy'/'MM'/'dd'/users.csv'", feedId = "heap-users" } },
            schedule,
        }, DaemonHost.Json);
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<List<JsonElement>> ScheduledRunsAsync(string courierId) =>
        (await Api.GetOkAsync($"/api/couriers/{courierId}/runs")).EnumerateArray()
        .Where(r => r.GetProperty("trigger").GetString() == "schedule").ToList();

    private async Task<List<JsonElement>> WaitForScheduledRunsAsync(string courierId, int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var runs = await ScheduledRunsAsync(courierId);
            if (runs.Count >= count) return runs;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"courier {courierId} has {runs.Count} scheduled runs, expected {count}");
            await Task.Delay(100);
        }
    }

    private static JsonElement? Nullable(JsonElement element, string property) =>
        element.TryGetProperty(property, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
}
