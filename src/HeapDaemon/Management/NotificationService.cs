using System.Collections.Immutable;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Notifications;

namespace HeapDaemon.Management;

/// <param name="Url">Where events are POSTed: http or https, not an instance-metadata address nor the daemon's own PostgreSQL.</param>
/// <param name="Events">What the webhook hears: runFailed, runSucceededAfterRetries, courierStopped, heapDumpBlocked, stitchFailed.</param>
/// <param name="Id">Made up when left out.</param>
/// <param name="Secret">Write-only: the key of the bodies' HMAC-SHA256 signature (16 to 256 characters); made up when left out.</param>
public sealed record NotificationRequest(
    string Url,
    ImmutableArray<NotificationEvent> Events,
    string? Id = null,
    string? Secret = null,
    string? Description = null);

/// <param name="LastDelivery">How the latest delivery ended (delivered, or given up after its attempts); absent before the first.</param>
public sealed record NotificationView(
    string Id, string Url, IReadOnlyList<NotificationEvent> Events, string? Description, DateTimeOffset CreatedAt, WebhookDeliveryRecord? LastDelivery)
{
    public static NotificationView Of(Webhook w) => new(w.Id, w.Url, w.Events, w.Description, w.CreatedAt, w.LastDelivery);
}

/// <summary>The answer to a create: the webhook, and its secret, shown this once.</summary>
public sealed record NotificationCreatedView(
    string Id, string Url, IReadOnlyList<NotificationEvent> Events, string? Description, DateTimeOffset CreatedAt, string Secret);

/// <summary>Webhooks as a user handles them, for the admin API and the console alike: add (checked), list, delete.</summary>
public sealed class NotificationService(WebhookCatalog catalog, EndpointPolicy endpoints, TimeProvider clock, IRequiredActor<NotificationsActor> notifications)
{
    public async Task<Outcome<NotificationCreatedView>> AddAsync(NotificationRequest body, CancellationToken ct)
    {
        var errors = new List<string>();
        var id = body.Id ?? "webhook-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        if (!Identifiers.IsId(id)) errors.Add($"id '{id}' must be {Identifiers.IdRule}");
        if (string.IsNullOrWhiteSpace(body.Url)) errors.Add("url is required");
        else if (!Uri.TryCreate(body.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
            errors.Add($"url '{body.Url}' must be an absolute http or https URL");
        else if (!string.IsNullOrEmpty(uri.UserInfo))
            errors.Add("url must not carry a user name or password; put a token in its path or query, or rely on the signature");
        if (body.Events.IsDefaultOrEmpty)
            errors.Add($"events is required: one or more of {string.Join(", ", Enum.GetValues<NotificationEvent>().Select(WebhookCatalog.Name))}");
        if (body.Secret is { } given && (given.Length is < 16 or > 256 || given.Any(char.IsWhiteSpace)))
            errors.Add("secret must be 16 to 256 characters without spaces (or left out, and one is made)");
        if (body.Description is { Length: > 500 }) errors.Add("description must be at most 500 characters");
        if (errors.Count > 0) return Failure.Invalid(errors);
        if (await endpoints.CheckUrlAsync(body.Url, ct) is { } refused) return Failure.Invalid($"url: {refused.Replace("endpointUrl", "the URL")}");

        var webhook = new Webhook(id, body.Url, [.. body.Events.Distinct()], body.Description, clock.GetUtcNow());
        var secret = body.Secret ?? "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        if (!await catalog.AddAsync(webhook, secret, ct)) return Failure.Conflict($"a webhook with id '{id}' exists already");
        return new NotificationCreatedView(webhook.Id, webhook.Url, webhook.Events, webhook.Description, webhook.CreatedAt, secret);
    }

    public async Task<IReadOnlyList<NotificationView>> ListAsync(CancellationToken ct) => (await catalog.ListAsync(ct)).Select(NotificationView.Of).ToList();

    public async Task<Outcome<NotificationView>> GetAsync(string id, CancellationToken ct) =>
        await catalog.GetAsync(id, ct) is { } webhook ? NotificationView.Of(webhook) : Failure.NotFound($"no webhook '{id}'");

    /// <summary>Deliveries waiting or being retried for the webhook stop.</summary>
    public async Task<Outcome<string>> DeleteAsync(string id, CancellationToken ct)
    {
        if (!await catalog.DeleteAsync(id, ct)) return Failure.NotFound($"no webhook '{id}'");
        (await notifications.GetAsync(ct)).Tell(new NotificationsActor.WebhookRemoved(id));
        return id;
    }
}
