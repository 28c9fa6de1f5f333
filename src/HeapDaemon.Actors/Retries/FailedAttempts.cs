namespace HeapDaemon.Actors.Retries;

/// <summary>
/// The attempts of one run that failed for a reason that may pass, carried by the courier from one attempt to the next
/// so that the attempt that gives up can say for how long the run kept trying.
/// </summary>
/// <param name="Count">Attempts that failed so.</param>
/// <param name="Since">When the first of them failed.</param>
/// <param name="RefusedInARow">How many of the last of them failed because the S3 endpoint refused connections.</param>
/// <param name="RefusedSince">When the first of those failed.</param>
public sealed record FailedAttempts(int Count, DateTimeOffset Since, int RefusedInARow, DateTimeOffset? RefusedSince)
{
    /// <summary>The attempts after one more failed with <paramref name="fault"/> at <paramref name="at"/>.</summary>
    public static FailedAttempts After(FailedAttempts? earlier, FaultKind fault, DateTimeOffset at) =>
        fault == FaultKind.Refused
            ? new((earlier?.Count ?? 0) + 1, earlier?.Since ?? at, (earlier?.RefusedInARow ?? 0) + 1, earlier?.RefusedSince ?? at)
            : new((earlier?.Count ?? 0) + 1, earlier?.Since ?? at, 0, null);

    /// <summary>
    /// The message of a run that gives up on a failure that may pass, after its last attempt failed with
    /// <paramref name="fault"/> at <paramref name="at"/>: how long it was refused or kept failing, then why.
    /// </summary>
    /// <param name="endpoint">The S3 endpoint, to name in a refusal; null when not known.</param>
    public static string GaveUp(FailedAttempts? earlier, FaultKind fault, DateTimeOffset at, string? endpoint, string message)
    {
        var attempts = After(earlier, fault, at);
        if (fault == FaultKind.Refused)
        {
            var who = endpoint is null ? "The S3 endpoint" : $"S3 endpoint {endpoint}";
            return attempts.RefusedInARow == 1
                ? $"{who} refused the connection; {message}"
                : $"{who} refused connections for {Describe(at - attempts.RefusedSince!.Value)} over {attempts.RefusedInARow} attempts; {message}";
        }
        return attempts.Count == 1 ? message : $"gave up after {attempts.Count} attempts over {Describe(at - attempts.Since)}; {message}";
    }

    /// <summary>"45 s", "1 min 10 s", "2 h 5 min": as a person says how long something took.</summary>
    public static string Describe(TimeSpan duration)
    {
        if (duration < TimeSpan.FromMinutes(1)) return $"{Math.Max(0, (int)Math.Round(duration.TotalSeconds))} s";
        if (duration < TimeSpan.FromHours(1)) return duration.Seconds == 0 ? $"{(int)duration.TotalMinutes} min" : $"{(int)duration.TotalMinutes} min {duration.Seconds} s";
        return duration.Minutes == 0 ? $"{(int)duration.TotalHours} h" : $"{(int)duration.TotalHours} h {duration.Minutes} min";
    }
}
