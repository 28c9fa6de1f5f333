using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Memory;
using HeapDaemon.Actors.Metrics;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Couriers;

/// <summary>What couriers and their runs use outside the actor system, built once by DI.</summary>
/// <param name="Kinds">The courier kinds, for what a courier shows and which feeds it uses.</param>
/// <param name="Runner">Does the work of a run's attempts, through the courier's kind.</param>
/// <param name="Clock">"Now" for run dates and schedules; tests move it instead of waiting.</param>
/// <param name="Leases">A run's lease, held while an attempt works, so no two nodes load one run at once.</param>
public sealed record CourierServices(
    CredentialCatalog Credentials,
    FeedCatalog Feeds,
    RunStore Runs,
    CourierKinds Kinds,
    CourierRunner Runner,
    DaemonMetrics Metrics,
    IdleMemory Memory,
    RunSettings RunSettings,
    TimeProvider Clock,
    RunLeases Leases);
