using HeapDaemon.Actors.Retries;
namespace HeapDaemon.Actors.Runs;

public enum RunStatus { Queued, Running, Succeeded, Failed, Cancelled }

/// <summary>Missing: a file entry that found no object for a day (required, optional, or skipped by skipMissingFiles).</summary>
public enum FileStatus { Running, Loaded, Skipped, Failed, Missing }

/// <summary>Who asked for a run: a request, the courier's schedule, or a retry of an ended run (<see cref="RunRecord.RetryOf"/>).</summary>
public enum RunTrigger { Api, Schedule, Retry }

/// <param name="Date">The run date; today (UTC) when neither it nor a range is given.</param>
/// <param name="ForceReload">Load files even if the ledger says this version was loaded already.</param>
/// <param name="From">With <paramref name="To"/>: a range of run dates, from inclusive, to exclusive.</param>
/// <param name="SkipMissingFiles">Load what is there even when required files are missing (Amperity's load option).</param>
public sealed record RunRequest(
    DateOnly? Date = null,
    bool ForceReload = false,
    DateOnly? From = null,
    DateOnly? To = null,
    bool SkipMissingFiles = false)
{
    /// <summary>
    /// This request asked again, as a retry asks it: every option the same, and the same days even when it named
    /// none (its "today" was the day it was asked, not the day of the retry).
    /// </summary>
    public RunRequest Repeat(RunWindow window) => Date is null && From is null ? this with { Date = window.From } : this;
}

/// <summary>An ended run as its courier shows it among its recent runs.</summary>
/// <param name="RunDate">The first day the run covers.</param>
public sealed record RunSummary(Guid RunId, DateOnly RunDate, RunStatus Status, DateTimeOffset FinishedAt, string? Message);

/// <summary>What happened to one file of a run; the row counts are the file's own.</summary>
/// <param name="Fault">For a failure: whether another attempt may not meet it (see <see cref="Faults"/>).</param>
public sealed record FileOutcome(
    FileStatus Status,
    string? ETag = null,
    long BytesRead = 0,
    long RowsRead = 0,
    long RowsInserted = 0,
    long RowsUpdated = 0,
    long RowsRejected = 0,
    string? Message = null,
    FaultKind Fault = FaultKind.Lasting)
{
    public bool Transient => Fault != FaultKind.Lasting;

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
/// <param name="Request">What it was asked with; a retry asks it again.</param>
/// <param name="RetryOf">The run this one retries, when its trigger is <see cref="RunTrigger.Retry"/>.</param>
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
    IReadOnlyList<RunFileRecord> Files,
    Guid? RetryOf = null);

/// <param name="Line">The first physical line of the rejected record (its record number in a typed file).</param>
/// <param name="LineEnd">Its last: a record over several lines (a quoted line break, a stray quote's fold) is one reject.</param>
public sealed record RejectRecord(string ObjectKey, long Line, long LineEnd, string Raw, string Reason);

/// <summary>A file that an earlier attempt of a run committed: what that attempt recorded, and when the ledger says it loaded.</summary>
/// <param name="Recorded">The file's outcome as the earlier attempt recorded it (or as the ledger's counts have it).</param>
/// <param name="RowsLoaded">The rows the ledger says were loaded.</param>
public sealed record EarlierLoad(FileOutcome Recorded, long RowsLoaded, DateTimeOffset LoadedAt)
{
    /// <summary>The file's outcome in the attempt that found it loaded: loaded, by the earlier attempt, with its rows.</summary>
    public FileOutcome Outcome(string sourceFile)
    {
        var when = $"loaded by an earlier attempt of this run at {LoadedAt:u}, before it was interrupted";
        return Recorded with
        {
            // A run interrupted more than once: the attempt before said so already.
            Message = Recorded.Message is { } message
                ? message.Contains(when, StringComparison.Ordinal) ? message : $"{message} ({when})"
                : $"{sourceFile}: {when}: {RowsLoaded} rows loaded, {Recorded.RowsRejected} rejected",
        };
    }
}
