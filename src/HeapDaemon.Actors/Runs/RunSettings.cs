using HeapDaemon.Actors.Retries;

namespace HeapDaemon.Actors.Runs;

/// <summary>How a courier retries a run that failed for a transient reason (see <see cref="Faults"/>).</summary>
public sealed class RunSettings
{
    /// <summary>Attempts in all, the first included; 1 turns retries off.</summary>
    public int MaxAttempts { get; init; } = 4;

    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(2);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>The delay before the attempt after <paramref name="failedAttempt"/> (1 for the first): the daemon's backoff.</summary>
    public TimeSpan RetryDelay(int failedAttempt) => new ExponentialBackoff(RetryBaseDelay, RetryMaxDelay).Delay(failedAttempt - 1);
}
