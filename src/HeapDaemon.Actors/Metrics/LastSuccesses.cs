using Npgsql;

namespace HeapDaemon.Actors.Metrics;

/// <summary>
/// Each courier's last successful run as <c>heapd.runs</c> has it, so the gauge of last successes is whole from the
/// start rather than from each courier's next success after a restart.
/// </summary>
public sealed class LastSuccesses(NpgsqlDataSource db, DaemonMetrics metrics)
{
    public async Task LoadAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "SELECT courier_id, max(finished_at) FROM heapd.runs WHERE status = 'succeeded' AND finished_at IS NOT NULL GROUP BY courier_id");
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct)) metrics.CourierSucceeded(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1));
    }
}
