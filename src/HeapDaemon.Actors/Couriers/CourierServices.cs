using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Metrics;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;

namespace HeapDaemon.Actors.Couriers;

/// <summary>What couriers and their runs use outside the actor system, built once by DI.</summary>
/// <param name="Clock">"Now" for run dates and schedules; tests move it instead of waiting.</param>
public sealed record CourierServices(
    CredentialCatalog Credentials,
    FeedCatalog Feeds,
    RunStore Runs,
    S3ClientFactory S3,
    FileLoadPipeline Pipeline,
    DaemonMetrics Metrics,
    IdleMemory Memory,
    RunSettings RunSettings,
    TimeProvider Clock,
    HeapCourier Heap);
