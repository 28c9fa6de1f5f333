namespace HeapDaemon.Actors.Runs;

/// <summary>How a courier retries a run that failed for a transient reason (see <see cref="Faults"/>).</summary>
public sealed class RunSettings
{
    /// <summary>Attempts in all, the first included; 1 turns retries off.</summary>
    public int MaxAttempts { get; init; } = 4;

    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>Exponential backoff with ±20% jitter, so couriers that failed together do not retry together.</summary>
    public TimeSpan RetryDelay(int failedAttempt)
    {
        var exponential = RetryBaseDelay.TotalMilliseconds * Math.Pow(2, failedAttempt - 1);
        var capped = Math.Min(exponential, RetryMaxDelay.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + 0.4 * Random.Shared.NextDouble()));
    }
}
