using HeapDaemon.Actors.Streams;
using Xunit;

namespace HeapDaemon.Tests.Streams;

/// <summary>A synchronous enumeration read on its own thread: every item in order, failures after the items before them, early stops.</summary>
public sealed class DedicatedThreadEnumerableSpecs
{
    [Fact]
    public async Task Every_item_arrives_in_order_whatever_the_count()
    {
        var items = new List<int>();
        await foreach (var item in DedicatedThreadEnumerable.Run(_ => Enumerable.Range(1, 1_000), capacity: 300)) items.Add(item);

        Assert.Equal(Enumerable.Range(1, 1_000), items);
    }

    [Fact]
    public async Task A_failure_arrives_after_every_item_produced_before_it()
    {
        static IEnumerable<int> FailAfter600(CancellationToken ct)
        {
            foreach (var i in Enumerable.Range(1, 600)) yield return i;
            throw new InvalidDataException("broken at 601");
        }
        var items = new List<int>();

        var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
        {
            await foreach (var item in DedicatedThreadEnumerable.Run(FailAfter600, capacity: 1_024)) items.Add(item);
        });

        Assert.Equal("broken at 601", error.Message);
        Assert.Equal(Enumerable.Range(1, 600), items);
    }

    [Fact]
    public async Task A_consumer_that_stops_early_stops_the_producer()
    {
        var stopped = new TaskCompletionSource();
        IEnumerable<int> Endless(CancellationToken ct)
        {
            try
            {
                for (var i = 0; ; i++)
                {
                    ct.ThrowIfCancellationRequested();
                    yield return i;
                }
            }
            finally
            {
                stopped.TrySetResult();
            }
        }

        await foreach (var item in DedicatedThreadEnumerable.Run(Endless, capacity: 1_024))
            if (item == 10) break;

        Assert.True(stopped.Task.IsCompleted);
    }
}
