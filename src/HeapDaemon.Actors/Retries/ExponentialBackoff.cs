namespace HeapDaemon.Actors.Retries;

/// <summary>
/// The daemon's one backoff: after the n-th failure in a row (counted from 0) wait <see cref="Min"/> × 2ⁿ, at most
/// <see cref="Max"/>, plus up to <see cref="RandomFactor"/> of that at random, so what failed together does not come
/// back together. It is the formula of Akka's BackoffSupervisor, which restarts couriers with these three numbers;
/// run retries, which are the courier's to schedule, take their delay from <see cref="Delay"/>.
/// </summary>
public sealed record ExponentialBackoff(TimeSpan Min, TimeSpan Max, double RandomFactor = 0.2)
{
    /// <param name="failures">Failures in a row before this one: 0 for the first wait.</param>
    public TimeSpan Delay(int failures)
    {
        // Past 2^30 the cap has long been reached; the exponent is bounded so the product stays finite.
        var exponential = Min.TotalMilliseconds * Math.Pow(2, Math.Clamp(failures, 0, 30));
        return TimeSpan.FromMilliseconds(Math.Min(exponential, Max.TotalMilliseconds) * (1 + Random.Shared.NextDouble() * RandomFactor));
    }
}
