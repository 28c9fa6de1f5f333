using System.Text.Json;
using HeapDaemon.Actors.Json;
using HeapDaemon.Actors.Runs;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Stitch;

/// <summary>Who asked for a stitch.</summary>
public enum StitchTrigger { Api, Load, Schedule, Recovery }

/// <summary>Incremental: only records loaded since the last stitch, and the blocks they touch, are compared again.</summary>
public enum StitchKind { Full, Incremental }

/// <param name="Kind">What was asked for; <see cref="StitchRunRecord.Statistics"/> says what ran (an incremental may run full).</param>
/// <param name="Attempts">The attempt running, or the last one (a failure that may pass is tried again).</param>
public sealed record StitchRunRecord(
    Guid Id,
    StitchKind Kind,
    StitchTrigger Trigger,
    RunStatus Status,
    DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? Message,
    JsonElement? Statistics,
    int Attempts);

/// <summary>Stitch runs in <c>heapd.stitch_runs</c>: their history, and the truth about which were interrupted.</summary>
public sealed class StitchRunStore(NpgsqlDataSource db)
{
    public async Task CreateAsync(Guid id, StitchKind kind, StitchTrigger trigger, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("INSERT INTO heapd.stitch_runs (id, kind, trigger, status) VALUES ($1, $2, $3, 'queued')");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(Text(kind));
        cmd.Parameters.AddWithValue(Text(trigger));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>An attempt starts; the run's start is its first attempt's.</summary>
    public async Task MarkRunningAsync(Guid id, int attempt, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand(
            "UPDATE heapd.stitch_runs SET status = 'running', started_at = coalesce(started_at, now()), attempts = $2 WHERE id = $1");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(attempt);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>An attempt failed for a reason that may pass: the run waits for its next one, queued, saying why.</summary>
    public async Task MarkRetryingAsync(Guid id, string message, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("UPDATE heapd.stitch_runs SET status = 'queued', message = $2 WHERE id = $1");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(message);
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task FinishAsync(Guid id, RunStatus status, string message, object? statistics, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("UPDATE heapd.stitch_runs SET status = $2, finished_at = now(), message = $3, statistics = $4 WHERE id = $1");
        cmd.Parameters.AddWithValue(id);
        cmd.Parameters.AddWithValue(Text(status));
        cmd.Parameters.AddWithValue(message);
        cmd.Parameters.AddWithValue(NpgsqlDbType.Jsonb, statistics is null ? DBNull.Value : JsonSerializer.Serialize(statistics, HeapJson.Options));
        await cmd.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Runs that were queued or running when the daemon stopped: their transaction rolled back, so they failed; the actor asks for one new run.</summary>
    public async Task<int> FailInterruptedAsync(CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("""
            UPDATE heapd.stitch_runs SET status = 'failed', finished_at = now(),
                message = 'the daemon stopped before this stitch ended; the previous result stayed in place'
            WHERE status IN ('queued', 'running')
            """);
        return await cmd.ExecuteNonQueryAsync(ct);
    }

    public async Task<StitchRunRecord?> GetAsync(Guid id, CancellationToken ct) =>
        (await QueryAsync("WHERE id = $1", [id], ct)).SingleOrDefault();

    public Task<IReadOnlyList<StitchRunRecord>> ListAsync(int limit, CancellationToken ct) =>
        QueryAsync("ORDER BY requested_at DESC LIMIT $1", [limit], ct);

    private async Task<IReadOnlyList<StitchRunRecord>> QueryAsync(string where, object[] parameters, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand($"""
            SELECT id, kind, trigger, status, requested_at, started_at, finished_at, message, statistics::text, attempts FROM heapd.stitch_runs {where}
            """);
        foreach (var p in parameters) cmd.Parameters.AddWithValue(p);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var runs = new List<StitchRunRecord>();
        while (await reader.ReadAsync(ct))
            runs.Add(new StitchRunRecord(reader.GetGuid(0), Enum.Parse<StitchKind>(reader.GetString(1), true),
                Enum.Parse<StitchTrigger>(reader.GetString(2), true), Enum.Parse<RunStatus>(reader.GetString(3), true),
                reader.GetFieldValue<DateTimeOffset>(4), Time(reader, 5), Time(reader, 6), reader.IsDBNull(7) ? null : reader.GetString(7),
                reader.IsDBNull(8) ? null : JsonDocument.Parse(reader.GetString(8)).RootElement.Clone(), reader.GetInt32(9)));
        return runs;
    }

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private static string Text<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}
