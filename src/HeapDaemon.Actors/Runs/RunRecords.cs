namespace HeapDaemon.Actors.Runs;

public enum RunStatus { Queued, Running, Succeeded, Failed, Cancelled }

public enum FileStatus { Running, Loaded, Skipped, Failed }

/// <param name="Date">The run date; today (UTC) when not given.</param>
/// <param name="ForceReload">Load files even if the ledger says this version was loaded already.</param>
public sealed record RunRequest(DateOnly? Date = null, bool ForceReload = false);

/// <summary>What happened to one file of a run; the row counts are the file's own.</summary>
/// <param name="Transient">A failure that another attempt may not meet (see <see cref="Faults"/>).</param>
public sealed record FileOutcome(
    FileStatus Status,
    string? ETag = null,
    long BytesRead = 0,
    long RowsRead = 0,
    long RowsInserted = 0,
    long RowsUpdated = 0,
    long RowsRejected = 0,
    string? Message = null,
    bool Transient = false)
{
    public static FileOutcome Failed(string message, long bytesRead = 0, long rowsRead = 0, long rowsRejected = 0, string? etag = null) =>
        new(FileStatus.Failed, etag, bytesRead, rowsRead, RowsRejected: rowsRejected, Message: message);
}

public sealed record RunFileRecord(
    int Ordinal,
    string Bucket,
    string Key,
    string FeedId,
    FileStatus Status,
    string? ETag,
    long BytesRead,
    long RowsRead,
    long RowsInserted,
    long RowsUpdated,
    long RowsRejected,
    string? Message,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt);

public sealed record RunRecord(
    Guid Id,
    string CourierId,
    RunStatus Status,
    DateOnly RunDate,
    bool ForceReload,
    DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? Message,
    IReadOnlyList<RunFileRecord> Files);

public sealed record RejectRecord(string ObjectKey, long Line, string Raw, string Reason);
