using System.Collections.Immutable;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Access;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Notifications;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <param name="Url">Where events are POSTed: http or https, not an instance-metadata address nor the daemon's own PostgreSQL.</param>
/// <param name="Events">What the webhook hears: runFailed, runSucceededAfterRetries, courierStopped, heapDumpBlocked.</param>
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

/// <summary>
/// <c>/api/notifications</c>: webhooks for failures and recoveries (see <see cref="NotificationEvent"/>). Admins only,
/// reads included: a webhook's URL is often a secret of its own (a token in its path, as chat webhooks have), and viewers
/// never see secrets.
/// </summary>
public static class NotificationsApi
{
    public static void MapNotificationsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/notifications").WithTags("Notifications");
        group.MapPost("/", CreateAsync).WithName("AddNotification").ForAdmins()
            .WithSummary("Add a webhook for the events it names; the answer shows its signing secret, this once");
        group.MapGet("/", ListAsync).WithName("ListNotifications").ForAdmins()
            .WithSummary("Every webhook, with how its latest delivery ended; secrets are never shown");
        group.MapGet("/{id}", GetAsync).WithName("GetNotification").ForAdmins().WithSummary("One webhook");
        group.MapDelete("/{id}", DeleteAsync).WithName("DeleteNotification").ForAdmins()
            .WithSummary("Delete a webhook: deliveries waiting or being retried for it stop");
    }

    public static async Task<Results<Created<NotificationCreatedView>, InvalidProblem, ConflictProblem>> CreateAsync(NotificationRequest body,
        WebhookCatalog catalog, EndpointPolicy endpoints, TimeProvider clock, CancellationToken ct)
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
        if (errors.Count > 0) return new InvalidProblem(errors);
        if (await endpoints.CheckUrlAsync(body.Url, ct) is { } refused) return new InvalidProblem($"url: {refused.Replace("endpointUrl", "the URL")}");

        var webhook = new Webhook(id, body.Url, [.. body.Events.Distinct()], body.Description, clock.GetUtcNow());
        var secret = body.Secret ?? "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        if (!await catalog.AddAsync(webhook, secret, ct)) return new ConflictProblem($"a webhook with id '{id}' exists already");
        return TypedResults.Created($"/api/notifications/{id}",
            new NotificationCreatedView(webhook.Id, webhook.Url, webhook.Events, webhook.Description, webhook.CreatedAt, secret));
    }

    public static async Task<Ok<IReadOnlyList<NotificationView>>> ListAsync(WebhookCatalog catalog, CancellationToken ct) =>
        TypedResults.Ok<IReadOnlyList<NotificationView>>((await catalog.ListAsync(ct)).Select(NotificationView.Of).ToList());

    public static async Task<Results<Ok<NotificationView>, NotFoundProblem>> GetAsync(string id, WebhookCatalog catalog, CancellationToken ct) =>
        await catalog.GetAsync(id, ct) is { } webhook ? TypedResults.Ok(NotificationView.Of(webhook)) : new NotFoundProblem($"no webhook '{id}'");

    public static async Task<Results<NoContent, NotFoundProblem>> DeleteAsync(string id, WebhookCatalog catalog,
        IRequiredActor<NotificationsActor> notifications, CancellationToken ct)
    {
        if (!await catalog.DeleteAsync(id, ct)) return new NotFoundProblem($"no webhook '{id}'");
        (await notifications.GetAsync(ct)).Tell(new NotificationsActor.WebhookRemoved(id));
        return TypedResults.NoContent();
    }
}
