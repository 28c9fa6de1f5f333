namespace HeapDaemon.Tests.Support;

/// <summary>Real time moved by an offset a test sets: time still flows (timers fire), but "now" is where the test wants it.</summary>
public sealed class ShiftedClock(TimeSpan offset = default) : TimeProvider
{
    private long _offsetTicks = offset.Ticks;

    public TimeSpan Offset
    {
        get => TimeSpan.FromTicks(Interlocked.Read(ref _offsetTicks));
        set => Interlocked.Exchange(ref _offsetTicks, value.Ticks);
    }

    /// <summary>A clock whose "now" is <paramref name="now"/> at the moment it is made.</summary>
    public static ShiftedClock At(DateTimeOffset now) => new(now - DateTimeOffset.UtcNow);

    public void Advance(TimeSpan by) => Offset += by;

    public void SetNow(DateTimeOffset now) => Offset = now - DateTimeOffset.UtcNow;

    public override DateTimeOffset GetUtcNow() => DateTimeOffset.UtcNow + Offset;
}
