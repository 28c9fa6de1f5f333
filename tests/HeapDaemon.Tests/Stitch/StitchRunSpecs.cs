using System.Text.Json;
using HeapDaemon.SampleData;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;

namespace HeapDaemon.Tests.Stitch;

/// <summary>A stitch as a run: one at a time, cancel, a crash mid-swap and its retries, and stitching by itself after a load.</summary>
public sealed class StitchRunSpecs : DaemonSpecs
{
    /// <summary>Two attempts a second apart: a killed stitch is tried once more, soon.</summary>
    protected override IReadOnlyDictionary<string, string> DaemonSettings => new Dictionary<string, string>
    {
        ["Runs:MaxAttempts"] = "2",
        ["Runs:RetryBaseDelay"] = "00:00:01",
        ["Runs:RetryMaxDelay"] = "00:00:01",
    };

    /// <summary>Stitches only when a test asks: a stitch after the loads, 30 s on, would change what the tests count.</summary>
    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await Api.PostOkAsync("/api/stitch/settings", new { runAfterLoads = false });
    }

    private async Task LoadAsync(int seed = 2) => await StitchSources.LoadAsync(Api, S3, Bucket, new PeopleGenerator(seed).Generate(150).Files);

    /// <summary>
    /// A reader's transaction on the result: a stitch can write its new tables, but its swap (DROP TABLE) waits for it,
    /// so the stitch is held in its last step for as long as the test needs.
    /// </summary>
    private async Task<NpgsqlConnection> HoldResultAsync()
    {
        var reader = new NpgsqlConnection(ConnectionString);
        await reader.OpenAsync();
        await using var cmd = new NpgsqlCommand("BEGIN; SELECT count(*) FROM stitch.unified_coalesced", reader);
        await cmd.ExecuteNonQueryAsync();
        return reader;
    }

    /// <summary>The backend of the stitch waiting to swap its tables in (it waits on the reader's lock), if one does.</summary>
    private async Task<int?> SwapWaiterAsync()
    {
        var waiting = await QueryAsync("""
            SELECT pid FROM pg_stat_activity
            WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE 'DROP TABLE IF EXISTS stitch.unified_coalesced CASCADE%'
            """);
        return waiting.Count > 0 ? (int)waiting[0]["pid"]! : null;
    }

    /// <summary>Waits until a stitch waits to swap its tables in (<paramref name="waits"/>), or until none does.</summary>
    private async Task<int?> WaitForSwapAsync(bool waits = true)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            var pid = await SwapWaiterAsync();
            if (pid is not null == waits) return pid;
            await Task.Delay(50);
        }
        throw new TimeoutException(waits ? "no stitch reached its swap within 120 s" : "a stitch still waited to swap its tables in after 120 s");
    }

    private async Task<List<Dictionary<string, object?>>> ResultAsync() =>
        await QueryAsync("SELECT source, feed, pk, amperity_id, given_name, email FROM stitch.unified_coalesced ORDER BY source, feed, pk");

    /// <summary>Kills the stitch's backend waiting to swap its tables in; returns its pid.</summary>
    private async Task<int> KillSwapAsync(int? not = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        var pid = await WaitForSwapAsync();
        // The backend of an attempt killed before may still be listed for a moment.
        while (pid == not && DateTime.UtcNow < deadline) pid = await WaitForSwapAsync();
        await QueryAsync($"SELECT pg_terminate_backend({pid!.Value})");
        return pid.Value;
    }

    /// <summary>Waits until the run is queued for its second attempt, after its first failed; returns the run.</summary>
    private async Task<JsonElement> WaitForRetryAsync(Guid runId)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(60); ; await Task.Delay(50))
        {
            var run = (await Api.GetOkAsync($"/api/stitch/runs/{runId}")).GetProperty("run");
            if (run.GetProperty("status").GetString() == "queued" && run.TryGetProperty("message", out var message) &&
                message.GetString()!.StartsWith("attempt 1 of 2 failed for a reason that may pass; retrying in ")) return run;
            Assert.True(run.GetProperty("status").GetString() is "queued" or "running" && DateTime.UtcNow < deadline, run.ToString());
        }
    }

    [Fact]
    public async Task A_stitch_killed_while_swapping_its_result_in_is_tried_again_and_when_every_attempt_is_killed_the_previous_result_stays_whole_and_webhooks_hear_it()
    {
        await using var listener = await WebhookListener.StartAsync();
        await Api.PostOkAsync("/api/notifications", new { url = listener.Url("/hooks/stitch"), events = new[] { "stitchFailed" } });
        await Api.PostOkAsync("/api/notifications", new { url = listener.Url("/hooks/runs"), events = new[] { "runFailed" } });
        await EnsureMotoCredentialAsync();
        await LoadAsync();
        await Api.StitchAsync(full: true);
        var before = await ResultAsync();
        var customers = (await QueryAsync("SELECT count(*) AS n FROM stitch.merged_customers")).Single()["n"];

        JsonElement killed;
        await using (var reader = await HoldResultAsync())
        {
            var runId = (await Api.PostOkAsync("/api/stitch/runs", new { full = true })).GetProperty("runId").GetGuid();
            var first = await KillSwapAsync();
            var retrying = await WaitForRetryAsync(runId);
            Assert.Contains("the previous result stays in place", retrying.GetProperty("message").GetString());
            Assert.Equal(1, retrying.GetProperty("attempts").GetInt32());
            Assert.Empty(listener.Received);

            await KillSwapAsync(not: first);
            killed = await Api.WaitForStitchAsync(runId);
            Assert.Equal("failed", killed.GetProperty("status").GetString());
            Assert.Equal(2, killed.GetProperty("attempts").GetInt32());
            Assert.StartsWith("gave up after 2 attempts over ", killed.GetProperty("message").GetString());
            Assert.Contains("the previous result stays in place", killed.GetProperty("message").GetString());
        }

        var body = JsonDocument.Parse(Assert.Single(await listener.WaitForAsync("/hooks/stitch", 1)).Body).RootElement;
        Assert.Equal("stitchFailed", body.GetProperty("type").GetString());
        Assert.Equal(killed.GetProperty("id").GetGuid(), body.GetProperty("runId").GetGuid());
        Assert.Equal(killed.GetProperty("message").GetString(), body.GetProperty("message").GetString());
        Assert.Equal($"/api/stitch/runs/{killed.GetProperty("id").GetGuid()}", body.GetProperty("link").GetString());
        Assert.False(body.TryGetProperty("courierId", out _));
        Assert.DoesNotContain(listener.Received, r => r.Path == "/hooks/runs");

        Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(await ResultAsync()));
        Assert.Equal(customers, (await QueryAsync("SELECT count(*) AS n FROM stitch.merged_customers")).Single()["n"]);

        var after = await Api.StitchAsync();
        Assert.StartsWith("full", after.GetProperty("statistics").GetProperty("ran").GetString());
        Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(await ResultAsync()));
        // The killed stitch's new tables (never swapped in) went with the next one.
        Assert.Empty(await QueryAsync("SELECT relname FROM pg_class WHERE relname LIKE '%\\_next' AND relkind = 'r'"));
    }

    [Fact]
    public async Task A_stitch_whose_first_attempt_is_killed_succeeds_on_its_second_and_its_run_shows_both()
    {
        await EnsureMotoCredentialAsync();
        await LoadAsync();
        await Api.StitchAsync(full: true);
        var before = await ResultAsync();

        Guid runId;
        await using (var reader = await HoldResultAsync())
        {
            runId = (await Api.PostOkAsync("/api/stitch/runs", new { full = true })).GetProperty("runId").GetGuid();
            await KillSwapAsync();
            await WaitForRetryAsync(runId);
        }

        var run = await Api.WaitForStitchAsync(runId);
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.Equal(2, run.GetProperty("attempts").GetInt32());
        Assert.StartsWith("full", run.GetProperty("statistics").GetProperty("ran").GetString());
        Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(await ResultAsync()));
    }

    [Fact]
    public async Task One_stitch_runs_at_a_time_requests_meanwhile_join_the_one_waiting_and_queued_or_running_ones_can_be_cancelled()
    {
        await EnsureMotoCredentialAsync();
        await LoadAsync();
        await Api.StitchAsync(full: true);
        var before = await ResultAsync();

        await using (var reader = await HoldResultAsync())
        {
            var running = (await Api.PostOkAsync("/api/stitch/runs", new { full = true })).GetProperty("runId").GetGuid();
            await WaitForSwapAsync();
            var waiting = await Api.PostOkAsync("/api/stitch/runs", new { });
            var joined = await Api.PostOkAsync("/api/stitch/runs", new { full = true });
            Assert.Equal(waiting.GetProperty("runId").GetGuid(), joined.GetProperty("runId").GetGuid());
            Assert.Equal("queued", joined.GetProperty("status").GetString());
            Assert.Equal("queued behind the running stitch", joined.GetProperty("message").GetString());
            var progress = await Api.GetOkAsync($"/api/stitch/runs/{running}");
            Assert.Equal("writing", progress.GetProperty("progress").GetProperty("phase").GetString());

            await Api.PostOkAsync($"/api/stitch/runs/{joined.GetProperty("runId").GetGuid()}/cancel");
            await Api.PostOkAsync($"/api/stitch/runs/{running}/cancel");
            // The cancel reaches the stitch while PostgreSQL holds it (its statement is cancelled); the reader lets go after.
            await WaitForSwapAsync(waits: false);
            await reader.CloseAsync();
            var cancelled = await Api.WaitForStitchAsync(running);
            Assert.Equal("cancelled", cancelled.GetProperty("status").GetString());
            var neverRan = await Api.WaitForStitchAsync(joined.GetProperty("runId").GetGuid());
            Assert.Equal("cancelled", neverRan.GetProperty("status").GetString());
            Assert.Equal("cancelled by request before it ran", neverRan.GetProperty("message").GetString());
        }
        Assert.Equal(JsonSerializer.Serialize(before), JsonSerializer.Serialize(await ResultAsync()));
        var conflict = await Api.PostAsync($"/api/stitch/runs/{Guid.NewGuid()}/cancel", null);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, conflict.StatusCode);

        var runs = await Api.GetOkAsync("/api/stitch/runs");
        Assert.Equal(3, runs.GetArrayLength());
    }

    private async Task<List<JsonElement>> StitchesAfterLoadsAsync() =>
        (await Api.GetOkAsync("/api/stitch/runs")).EnumerateArray().Where(r => r.GetProperty("trigger").GetString() == "load").ToList();

    /// <summary>Waits until <paramref name="count"/> stitches started by loads have ended; returns every one of them.</summary>
    private async Task<List<JsonElement>> WaitForStitchesAfterLoadsAsync(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(120);
        while (true)
        {
            var runs = await StitchesAfterLoadsAsync();
            if (runs.Count(r => r.GetProperty("status").GetString() is not ("queued" or "running")) >= count) return runs;
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"{count} stitch(es) after loads did not end within 120 s: {string.Join("\n", runs)}");
            await Task.Delay(200);
        }
    }

    /// <summary>
    /// The debounce is an hour while three courier runs change tagged tables, so nothing can stitch by the clock during
    /// the test; lowering it to 0 lets the pending stitch go at once: one stitch for the three runs, whatever order the
    /// daemon heard them in. Then a run that loads nothing new starts none, and one that changes a table starts one.
    /// </summary>
    [Fact]
    public async Task Courier_runs_that_change_tagged_tables_start_one_incremental_stitch_per_debounce_and_a_run_that_loads_nothing_starts_none()
    {
        await Api.PostOkAsync("/api/stitch/settings", new { runAfterLoads = true, debounceSeconds = 3600 });
        await EnsureMotoCredentialAsync();

        await LoadAsync();

        Assert.Empty((await Api.GetOkAsync("/api/stitch/runs")).EnumerateArray());
        await Api.PostOkAsync("/api/stitch/settings", new { debounceSeconds = 0 });
        var first = Assert.Single(await WaitForStitchesAfterLoadsAsync(1));
        Assert.Equal("succeeded", first.GetProperty("status").GetString());
        Assert.Equal("incremental", first.GetProperty("kind").GetString());
        var people = (await QueryAsync("SELECT count(*) AS n FROM stitch.merged_customers")).Single()["n"];
        Assert.True((long)people! > 100, $"{people} people after the loads");

        // The same file again: the ledger skips it, nothing changes, and no stitch follows. A changed CRM file then does.
        var unchanged = await Api.RunAsync("crm-customers");
        Assert.Equal("succeeded", unchanged.GetProperty("status").GetString());
        await StitchSources.LoadAsync(Api, S3, Bucket, new PeopleGenerator(5).Generate(150).Files.Take(1));
        var runs = await WaitForStitchesAfterLoadsAsync(2);
        Assert.Equal(2, runs.Count);
        Assert.All(runs, r => Assert.Equal("succeeded", r.GetProperty("status").GetString()));
    }

    [Fact]
    public async Task A_scheduled_stitch_runs_at_its_tick_in_its_time_zone()
    {
        await EnsureMotoCredentialAsync();
        await LoadAsync();
        var clock = ShiftedClock.At(DateTimeOffset.Parse("2026-11-27T04:00:00Z"));
        Clock = clock;
        await RestartDaemonAsync();

        // The stitch runs every day at 06:00 Paris time (05:00 UTC). The clock is put 15 s before it just as the schedule
        // is saved, so the tick is still ahead when the daemon reads the schedule, however slow a loaded machine is.
        clock.SetNow(DateTimeOffset.Parse("2026-11-27T04:59:45Z"));
        await Api.PostOkAsync("/api/stitch/settings", new { schedule = new { cron = "0 6 * * *", timeZone = "Europe/Paris" } });

        var deadline = DateTime.UtcNow.AddSeconds(120);
        JsonElement? scheduled = null;
        while (scheduled is null && DateTime.UtcNow < deadline)
        {
            scheduled = (await Api.GetOkAsync("/api/stitch/runs")).EnumerateArray().Cast<JsonElement?>()
                .FirstOrDefault(r => r!.Value.GetProperty("trigger").GetString() == "schedule");
            if (scheduled is null) await Task.Delay(200);
        }
        Assert.True(scheduled is not null, "no scheduled stitch within 120 s of its tick");
        var run = await Api.WaitForStitchAsync(scheduled.Value.GetProperty("id").GetGuid());
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        Assert.NotEmpty(await QueryAsync("SELECT 1 FROM stitch.merged_customers"));

        var cleared = await Api.PostOkAsync("/api/stitch/settings", new { clearSchedule = true });
        Assert.False(cleared.TryGetProperty("schedule", out _));
    }
}
