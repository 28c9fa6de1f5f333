namespace HeapDaemon.Actors.Memory;

/// <summary>
/// Hands the memory a load used back to the operating system when the last run in flight ends. The GC keeps the
/// space of a large load committed for the next one (idle after a 1 M-row load by the earlier Parquet reader: 375 MB
/// resident, 186 MB of it committed by the GC; 263-317 MB with this collection, dotnet-counters), while an always-on
/// daemon mostly waits between runs; a compacting collection then costs little and returns the rest.
/// </summary>
public sealed class IdleMemory
{
    private readonly Action _trim;
    private int _running;

    public IdleMemory() : this(() => GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true))
    {
    }

    /// <param name="trim">Called on a pool thread, not the ending run's, once no run is in flight.</param>
    public IdleMemory(Action trim) => _trim = trim;

    public int Running => Volatile.Read(ref _running);

    public void RunStarted() => Interlocked.Increment(ref _running);

    public void RunEnded()
    {
        if (Interlocked.Decrement(ref _running) != 0) return;
        ThreadPool.QueueUserWorkItem(_ =>
        {
            if (Running == 0) _trim();
        });
    }
}
