using System.Text.Json.Serialization;

namespace HeapDaemon.Actors.Notifications;

/// <summary>What a webhook can ask to hear about.</summary>
public enum NotificationEvent
{
    /// <summary>A run ended failed (after its retries, if its failure was one that may pass).</summary>
    RunFailed,
    /// <summary>A run succeeded after at least one of its attempts had failed.</summary>
    RunSucceededAfterRetries,
    /// <summary>A courier's actor stopped unexpectedly (its journal failed); the registry restarts it after a backoff.</summary>
    CourierStopped,
    /// <summary>A Heap dump could not apply, and the dumps after it wait for it (until it applies or is skipped).</summary>
    HeapDumpBlocked,
    /// <summary>A stitch ended failed (after its retries, if its failure was one that may pass); the previous result stays.</summary>
    StitchFailed,
}

/// <summary>
/// Something happened that webhooks may want to hear; published on the actor system's event stream by the couriers,
/// their registry and Stitch, and delivered by <see cref="NotificationsActor"/>.
/// </summary>
/// <param name="CourierId">The courier it is about; null for a stitch.</param>
/// <param name="RunId">The run (or stitch run) it is about; null for a courier that stopped.</param>
/// <param name="DumpId">The Heap dump that blocks, for <see cref="NotificationEvent.HeapDumpBlocked"/>.</param>
public sealed record Notification(NotificationEvent Event, string? CourierId, Guid? RunId, string Message, DateTimeOffset Time, long? DumpId = null)
{
    /// <summary>Where the admin API shows what it is about: the stitch run, the run, or the courier.</summary>
    public string Path => Event == NotificationEvent.StitchFailed ? $"/api/stitch/runs/{RunId}"
        : RunId is { } runId ? $"/api/runs/{runId}"
        : $"/api/couriers/{Uri.EscapeDataString(CourierId ?? "")}";
}

/// <summary>
/// The JSON body a webhook receives. <paramref name="Id"/> is the same in every attempt to deliver it, so a receiver can
/// tell a retry from a new event.
/// </summary>
/// <param name="Link">The run's (stitch run's, courier's) URL in the admin API: absolute under <c>Notifications:PublicBaseUrl</c>, else a path.</param>
public sealed record NotificationBody(
    Guid Id,
    [property: JsonPropertyName("type")] NotificationEvent Event,
    string WebhookId,
    string? CourierId,
    Guid? RunId,
    long? DumpId,
    string Message,
    DateTimeOffset Time,
    string Link);
