namespace HeapDaemon.Actors.Runs;

public enum RunStatus { Queued, Running, Succeeded, Failed, Cancelled }

/// <summary>Missing: a file entry that found no object for a day (required, optional, or skipped by skipMissingFiles).</summary>
public enum FileStatus { Running, Loaded, Skipped, Failed, Missing }

/// <summary>Who asked for a run.</summary>
public enum RunTrigger { Api, Schedule }

/// <param name="Date">The run date; today (UTC) when neither it nor a range is given.</param>
/// <param name="ForceReload">Load files even if the ledger says this version was loaded already.</param>
/// <param name="From">With <paramref name="To"/>: a range of run dates, from inclusive, to exclusive.</param>
/// <param name="SkipMissingFiles">Load what is there even when required files are missing (Amperity's load option).</param>
public sealed record RunRequest(
    DateOnly? Date = null,
    bool ForceReload = false,
    DateOnly? From = null,
    DateOnly? To = null,
    bool SkipMissingFiles = false);

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

/// <param name="RunDate">The first day the run covers.</param>
/// <param name="RunDateTo">The day after the last one it covers (exclusive).</param>
public sealed record RunRecord(
    Guid Id,
    string CourierId,
    RunStatus Status,
    DateOnly RunDate,
    DateOnly RunDateTo,
    RunTrigger Trigger,
    RunRequest Request,
    bool ForceReload,
    DateTimeOffset RequestedAt,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? Message,
    IReadOnlyList<RunFileRecord> Files);

/// <param name="Line">The first physical line of the rejected record (its record number in a typed file).</param>
/// <param name="LineEnd">Its last: a record over several lines (a quoted line break, a stray quote's fold) is one reject.</param>
public sealed record RejectRecord(string ObjectKey, long Line, long LineEnd, string Raw, string Reason);
