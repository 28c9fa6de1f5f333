using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;
using Xunit;

namespace HeapDaemon.Tests.Retries;

public sealed class ExponentialBackoffSpecs
{
    private static readonly ExponentialBackoff Backoff = new(TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1), RandomFactor: 0.2);

    [Theory]
    [InlineData(0, 2)]
    [InlineData(1, 4)]
    [InlineData(4, 32)]
    [InlineData(5, 60)] // 64 s, capped
    [InlineData(40, 60)]
    public void Each_failure_in_a_row_doubles_the_wait_up_to_the_cap_plus_at_most_the_random_share(int failures, double seconds)
    {
        var delays = Enumerable.Range(0, 200).Select(_ => Backoff.Delay(failures).TotalSeconds).ToList();

        Assert.All(delays, d => Assert.InRange(d, seconds, seconds * 1.2));
        Assert.True(delays.Distinct().Count() > 1, "every delay was the same: no jitter");
    }

    [Fact]
    public void A_run_retries_after_the_daemons_backoff_counted_from_its_first_failed_attempt()
    {
        var settings = new RunSettings { RetryBaseDelay = TimeSpan.FromSeconds(2), RetryMaxDelay = TimeSpan.FromMinutes(1) };

        Assert.InRange(settings.RetryDelay(1).TotalSeconds, 2, 2.4);
        Assert.InRange(settings.RetryDelay(3).TotalSeconds, 8, 9.6);
        Assert.InRange(settings.RetryDelay(10).TotalSeconds, 60, 72);
    }
}
