using HeapDaemon.Actors.Feeds;
using Npgsql;
using NpgsqlTypes;

namespace HeapDaemon.Actors.Loading;

/// <summary>
/// Stores rejected rows in <c>heapd.rejects</c> on a connection of its own, committed as they come: the rejects of a
/// file must survive when the file's own transaction rolls back for exceeding its error threshold.
/// </summary>
public sealed class RejectWriter(NpgsqlDataSource db, Guid runId, string objectKey) : IAsyncDisposable
{
    private NpgsqlConnection? _connection;

    public async Task WriteAsync(IReadOnlyList<RejectedRow> rejects, CancellationToken ct)
    {
        if (rejects.Count == 0) return;
        _connection ??= await db.OpenConnectionAsync(ct);
        await using var importer = await _connection.BeginBinaryImportAsync(
            "COPY heapd.rejects (run_id, object_key, line, line_end, raw, reason) FROM STDIN (FORMAT BINARY)", ct);
        foreach (var reject in rejects)
        {
            await importer.StartRowAsync(ct);
            await importer.WriteAsync(runId, NpgsqlDbType.Uuid, ct);
            await importer.WriteAsync(objectKey, NpgsqlDbType.Text, ct);
            await importer.WriteAsync(reject.Line, NpgsqlDbType.Bigint, ct);
            await importer.WriteAsync(reject.LineEnd, NpgsqlDbType.Bigint, ct);
            // PostgreSQL text cannot hold NUL; a hostile row must still be stored, so the NUL is made visible instead.
            await importer.WriteAsync(reject.Raw.Replace("\0", "\\0"), NpgsqlDbType.Text, ct);
            await importer.WriteAsync(reject.Reason.Replace("\0", "\\0"), NpgsqlDbType.Text, ct);
        }
        await importer.CompleteAsync(ct);
    }

    /// <summary>Forgets a run's rejects of these objects, before they are read again.</summary>
    public static async Task ClearAsync(NpgsqlDataSource db, Guid runId, IEnumerable<string> objectKeys, CancellationToken ct)
    {
        await using var cmd = db.CreateCommand("DELETE FROM heapd.rejects WHERE run_id = $1 AND object_key = ANY($2)");
        cmd.Parameters.AddWithValue(runId);
        cmd.Parameters.AddWithValue(objectKeys.ToArray());
        await cmd.ExecuteNonQueryAsync(ct);
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null) await _connection.DisposeAsync();
    }
}
