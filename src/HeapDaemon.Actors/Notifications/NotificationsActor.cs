using System.Text.Json;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using HeapDaemon.Actors.Json;
using Microsoft.Extensions.DependencyInjection;

namespace HeapDaemon.Actors.Notifications;

/// <summary>
/// Hears every <see cref="Notification"/> on the event stream, finds the webhooks that asked for its event (read at
/// each event, so a webhook made or deleted counts at once), and hands each one its delivery through a
/// <see cref="WebhookActor"/> of its own: a webhook that is slow or dead holds up only its own deliveries, never a run
/// (the publisher does not wait) nor another webhook.
/// </summary>
public sealed class NotificationsActor : ReceiveActor
{
    /// <summary>A webhook was deleted: its queued and in-flight deliveries stop.</summary>
    public sealed record WebhookRemoved(string WebhookId);

    /// <param name="Asked">When the webhooks were asked for: one deleted after that is not sent to.</param>
    private sealed record Dispatch(Notification Notification, IReadOnlyList<WebhookTarget> Targets, IReadOnlyList<string> Unreadable, DateTime Asked);

    private sealed record NotDispatched(Notification Notification, Exception Cause);

    private readonly WebhookCatalog _catalog;
    private readonly WebhookSender _sender;
    private readonly NotificationSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _webhooks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, DateTime> _removedAt = new(StringComparer.Ordinal);

    public NotificationsActor(WebhookCatalog catalog, WebhookSender sender, NotificationSettings settings)
    {
        (_catalog, _sender, _settings) = (catalog, sender, settings);
        Receive<Notification>(notification =>
        {
            var asked = DateTime.UtcNow;
            _catalog.ForEventAsync(notification.Event, CancellationToken.None).PipeTo(Self,
                success: found => new Dispatch(notification, found.Targets, found.Unreadable, asked),
                failure: e => new NotDispatched(notification, e));
        });
        Receive<Dispatch>(Deliver);
        Receive<NotDispatched>(failed => _log.Warning(failed.Cause, "Notification {Event} of courier {CourierId} was not sent: the webhooks could not be read",
            failed.Notification.Event, failed.Notification.CourierId));
        Receive<WebhookRemoved>(removed =>
        {
            var now = DateTime.UtcNow;
            foreach (var old in _removedAt.Where(r => now - r.Value > TimeSpan.FromMinutes(1)).Select(r => r.Key).ToList()) _removedAt.Remove(old);
            _removedAt[removed.WebhookId] = now;
            if (_webhooks.Remove(removed.WebhookId, out var webhook)) Context.Stop(webhook);
        });
    }

    public static Props Props(WebhookCatalog catalog, WebhookSender sender, NotificationSettings settings) =>
        Akka.Actor.Props.Create(() => new NotificationsActor(catalog, sender, settings));

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(Notification));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void Deliver(Dispatch dispatch)
    {
        var n = dispatch.Notification;
        foreach (var id in dispatch.Unreadable)
            _log.Error("Webhook {WebhookId}: no configured master key opens its secret, so {Event} was not sent to it", id, n.Event);
        var eventId = Guid.NewGuid();
        var link = _settings.Link(n.Path);
        foreach (var target in dispatch.Targets)
        {
            if (_removedAt.TryGetValue(target.Id, out var removed) && removed >= dispatch.Asked) continue;
            var body = JsonSerializer.SerializeToUtf8Bytes(
                new NotificationBody(eventId, n.Event, target.Id, n.CourierId, n.RunId, n.DumpId, n.Message, n.Time, link), HeapJson.Options);
            Webhook(target.Id).Tell(new WebhookActor.Deliver(new WebhookDelivery(target, eventId, n.Event, body)));
        }
    }

    private IActorRef Webhook(string id)
    {
        if (_webhooks.TryGetValue(id, out var webhook)) return webhook;
        // A webhook deleted and made again gets a fresh child while the old one may still be stopping.
        webhook = Context.ActorOf(WebhookActor.Props(id, _catalog, _sender, _settings), $"webhook-{Uri.EscapeDataString(id)}-{Guid.NewGuid():N}");
        _webhooks[id] = webhook;
        return webhook;
    }
}

/// <summary>
/// One webhook's deliveries, one at a time, in the order of their events. At most <see cref="NotificationSettings.QueueLimit"/>
/// wait; past that a new one is dropped, and the log says so. Stopping it (the webhook was deleted) cancels the delivery
/// in flight, retries included.
/// </summary>
public sealed class WebhookActor : ReceiveActor
{
    public sealed record Deliver(WebhookDelivery Delivery);

    private sealed record Ended(WebhookDelivery Delivery, WebhookDeliveryRecord Record);

    private readonly string _id;
    private readonly WebhookCatalog _catalog;
    private readonly WebhookSender _sender;
    private readonly NotificationSettings _settings;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Queue<WebhookDelivery> _waiting = new();
    private readonly CancellationTokenSource _stopping = new();
    private bool _sending;

    public WebhookActor(string id, WebhookCatalog catalog, WebhookSender sender, NotificationSettings settings)
    {
        (_id, _catalog, _sender, _settings) = (id, catalog, sender, settings);
        Receive<Deliver>(deliver =>
        {
            if (_waiting.Count >= _settings.QueueLimit)
            {
                _log.Warning("Webhook {WebhookId}: {Waiting} deliveries wait already (Notifications:QueueLimit); {Event} {EventId} is dropped",
                    _id, _waiting.Count, deliver.Delivery.Event, deliver.Delivery.EventId);
                return;
            }
            _waiting.Enqueue(deliver.Delivery);
            SendNext();
        });
        Receive<Ended>(ended =>
        {
            _sending = false;
            var (delivery, record) = (ended.Delivery, ended.Record);
            if (record.Delivered)
                _log.Info("Webhook {WebhookId}: {Event} {EventId} delivered in {Attempts} attempt(s)", _id, delivery.Event, delivery.EventId, record.Attempts);
            else
                _log.Warning("Webhook {WebhookId} ({Host}): {Event} {EventId} not delivered after {Attempts} attempt(s); the last {Error}",
                    _id, Host(delivery.Target.Url), delivery.Event, delivery.EventId, record.Attempts, record.Error);
            _catalog.RecordDeliveryAsync(_id, record, CancellationToken.None)
                .ContinueWith(t => _ = t.Exception, TaskContinuationOptions.OnlyOnFaulted);
            SendNext();
        });
    }

    public static Props Props(string id, WebhookCatalog catalog, WebhookSender sender, NotificationSettings settings) =>
        Akka.Actor.Props.Create(() => new WebhookActor(id, catalog, sender, settings));

    protected override void PostStop()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private void SendNext()
    {
        if (_sending || _waiting.Count == 0) return;
        _sending = true;
        var delivery = _waiting.Dequeue();
        var self = Self;
        var stopping = _stopping.Token;
        // A delivery cancelled because this actor stopped has no one to report to.
        _sender.SendAsync(delivery, stopping).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully) self.Tell(new Ended(delivery, t.Result));
            else if (!stopping.IsCancellationRequested)
                self.Tell(new Ended(delivery, new WebhookDeliveryRecord(delivery.EventId, delivery.Event, false, 0,
                    t.Exception?.GetBaseException().Message ?? "cancelled", DateTimeOffset.UtcNow)));
        }, TaskScheduler.Default);
    }

    /// <summary>Logs name the host, not the URL: a webhook URL's path often holds a token of its own.</summary>
    private static string Host(string url) => Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri.Authority : "?";
}

public static class NotificationHostingExtensions
{
    /// <summary>The notifications actor, subscribed to the event stream before any courier can publish.</summary>
    public static AkkaConfigurationBuilder AddNotificationActors(this AkkaConfigurationBuilder builder) =>
        builder.WithActors((system, registry, resolver) =>
            registry.Register<NotificationsActor>(system.ActorOf(NotificationsActor.Props(resolver.GetService<WebhookCatalog>(),
                resolver.GetService<WebhookSender>(), resolver.GetService<NotificationSettings>()), "notifications")));
}
