using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Memory;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Couriers;

/// <summary>What couriers and their runs use outside the actor system, built once by DI.</summary>
/// <param name="Runner">Does the work of a run's attempts, through the courier's kind.</param>
/// <param name="Clock">"Now" for run dates and schedules; tests move it instead of waiting.</param>
public sealed record CourierServices(
    CredentialCatalog Credentials,
    RunStore Runs,
    CourierRunner Runner,
    DaemonMetrics Metrics,
    IdleMemory Memory,
    RunSettings RunSettings,
    TimeProvider Clock);
