using Xunit;

namespace HeapDaemon.Tests.Support;

/// <summary>
/// One <see cref="DaemonWorld"/> for all the tests of a class: a database, a bucket and a daemon made before its first
/// test (the daemon with the class's settings and clock) and torn down after its last. A test that restarts the daemon
/// leaves the restarted one to the next. Derive as <c>class FooSpecs : ClassDaemonSpecs&lt;FooSpecs&gt;</c>.
/// </summary>
public abstract class ClassDaemonSpecs<TSpecs> : DaemonSpecs, IClassFixture<ClassDaemonSpecs<TSpecs>.ClassWorld>
    where TSpecs : ClassDaemonSpecs<TSpecs>
{
    private protected override Task<DaemonWorld> WorldAsync() =>
        Task.FromResult(ClassWorld.Current ?? throw new InvalidOperationException($"no class fixture for {typeof(TSpecs).Name}"));

    /// <summary>Each test checks what the daemon recorded so far; the world stays for the class's next test.</summary>
    public override Task DisposeAsync() => Internals.AssertNoneInRunMessagesAsync(ConnectionString);

    /// <summary>
    /// The class's world, kept by xUnit for the class's lifetime. One type per spec class (it is nested in the generic
    /// base), so <see cref="Current"/> is the class's own even while other classes run in parallel.
    /// </summary>
    public sealed class ClassWorld : IAsyncLifetime
    {
        internal static DaemonWorld? Current { get; private set; }

        public async Task InitializeAsync() => Current = await DaemonWorld.CreateAsync();

        public async Task DisposeAsync()
        {
            if (Current is { } world) await world.DisposeAsync();
            Current = null;
        }
    }
}
