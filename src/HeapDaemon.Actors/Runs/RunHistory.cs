using Npgsql;

namespace HeapDaemon.Actors.Runs;

/// <summary>A run as a history lists it: what it was asked, how it ended, and its files' totals.</summary>
/// <param name="RunDateTo">The day after the last one it covers (exclusive).</param>
public sealed record RunListItem(
    Guid Id,
    string CourierId,
    RunStatus Status,
    DateOnly RunDate,
    DateOnly RunDateTo,
    RunTrigger Trigger,
    DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? Message,
    int Files,
    long BytesRead,
    long RowsInserted,
    long RowsUpdated,
    long RowsRejected);

/// <param name="Next">Pass it back as <c>before</c> for the next (older) page; null on the last page.</param>
public sealed record RunPage(IReadOnlyList<RunListItem> Runs, string? Next);

/// <summary>
/// The history of a courier or of the whole daemon, newest first, filtered by status: keyset pages on
/// (requested_at, id), so the thousandth page costs what the first does.
/// </summary>
public sealed class RunHistory(NpgsqlDataSource db)
{
    public const int MaxPageSize = 200;

    /// <param name="before">A page's <see cref="RunPage.Next"/>: the runs older than the last one shown.</param>
    /// <returns>Null when <paramref name="before"/> is not a cursor this gave.</returns>
    public async Task<RunPage?> ListAsync(string? courierId, RunStatus? status, string? before, int pageSize, CancellationToken ct)
    {
        DateTimeOffset? beforeAt = null;
        Guid beforeId = default;
        if (!string.IsNullOrEmpty(before))
        {
            if (ParseCursor(before) is not { } cursor) return null;
            (beforeAt, beforeId) = cursor;
        }
        pageSize = Math.Clamp(pageSize, 1, MaxPageSize);
        await using var cmd = db.CreateCommand("""
            SELECT r.id, r.courier_id, r.status, r.run_date, coalesce(r.run_date_to, r.run_date + 1), r.trigger, r.requested_at, r.started_at,
                   r.finished_at, r.message, f.files, f.bytes_read, f.inserted, f.updated, f.rejected
            FROM heapd.runs r
            CROSS JOIN LATERAL (
                SELECT count(*)::int AS files, coalesce(sum(bytes_read), 0)::bigint AS bytes_read, coalesce(sum(rows_inserted), 0)::bigint AS inserted,
                       coalesce(sum(rows_updated), 0)::bigint AS updated, coalesce(sum(rows_rejected), 0)::bigint AS rejected
                FROM heapd.run_files WHERE run_id = r.id) f
            WHERE ($1::text IS NULL OR r.courier_id = $1) AND ($2::text IS NULL OR r.status = $2)
              AND ($3::timestamptz IS NULL OR (r.requested_at, r.id) < ($3, $4))
            ORDER BY r.requested_at DESC, r.id DESC
            LIMIT $5
            """);
        cmd.Parameters.Add(new NpgsqlParameter { Value = (object?)courierId ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = status is { } s ? s.ToString().ToLowerInvariant() : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
        cmd.Parameters.Add(new NpgsqlParameter { Value = beforeAt is { } at ? at : DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.TimestampTz });
        cmd.Parameters.AddWithValue(beforeId);
        cmd.Parameters.AddWithValue(pageSize + 1);
        await using var reader = await cmd.ExecuteReaderAsync(ct);
        var runs = new List<RunListItem>();
        while (await reader.ReadAsync(ct))
            runs.Add(new RunListItem(reader.GetGuid(0), reader.GetString(1), Enum.Parse<RunStatus>(reader.GetString(2), true),
                reader.GetFieldValue<DateOnly>(3), reader.GetFieldValue<DateOnly>(4), Enum.Parse<RunTrigger>(reader.GetString(5), true),
                reader.GetFieldValue<DateTimeOffset>(6), Time(reader, 7), Time(reader, 8), reader.IsDBNull(9) ? null : reader.GetString(9),
                reader.GetInt32(10), reader.GetInt64(11), reader.GetInt64(12), reader.GetInt64(13), reader.GetInt64(14)));
        if (runs.Count <= pageSize) return new RunPage(runs, null);
        runs.RemoveAt(pageSize);
        var last = runs[^1];
        return new RunPage(runs, $"{last.RequestedAt.UtcTicks}~{last.Id:N}");
    }

    private static (DateTimeOffset, Guid)? ParseCursor(string cursor) =>
        cursor.Split('~') is [var ticks, var id] && long.TryParse(ticks, out var t) && t is > 0 and < 3155378975999999999 && Guid.TryParseExact(id, "N", out var g)
            ? (new DateTimeOffset(t, TimeSpan.Zero), g)
            : null;

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);
}
