using System.Collections.Immutable;
using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Notifications;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace HeapDaemon.Admin;

/// <param name="Url">Where events are POSTed: http or https, not an instance-metadata address nor the daemon's own PostgreSQL.</param>
/// <param name="Events">What the webhook hears: runFailed, runSucceededAfterRetries, courierStopped, heapDumpBlocked.</param>
/// <param name="Id">Made up when left out.</param>
/// <param name="Secret">Write-only: the key of the bodies' HMAC-SHA256 signature (16 to 256 characters); made up when left out.</param>
public sealed record NotificationRequest(
    string? Url,
    ImmutableArray<NotificationEvent>? Events,
    string? Id = null,
    string? Secret = null,
    string? Description = null);

public sealed record NotificationView(
    string Id, string Url, IReadOnlyList<NotificationEvent> Events, string? Description, DateTimeOffset CreatedAt, WebhookDeliveryRecord? LastDelivery)
{
    public static NotificationView Of(Webhook w) => new(w.Id, w.Url, w.Events, w.Description, w.CreatedAt, w.LastDelivery);
}

/// <summary>The answer to a create: the webhook, and its secret, shown this once.</summary>
public sealed record NotificationCreatedView(
    string Id, string Url, IReadOnlyList<NotificationEvent> Events, string? Description, DateTimeOffset CreatedAt, string Secret);

/// <summary><c>/api/notifications</c>: webhooks for failures and recoveries (see <see cref="NotificationEvent"/>).</summary>
public static class NotificationsApi
{
    public static void MapNotificationsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/notifications").WithTags("Notifications");
        group.MapPost("/", CreateAsync)
            .WithSummary("Add a webhook for the events it names; the answer shows its signing secret, this once")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict);
        group.MapGet("/", ListAsync).WithSummary("Every webhook, with how its latest delivery ended; secrets are never shown");
        group.MapGet("/{id}", GetAsync).WithSummary("One webhook").ProducesProblem(StatusCodes.Status404NotFound);
        group.MapDelete("/{id}", DeleteAsync)
            .WithSummary("Delete a webhook: deliveries waiting or being retried for it stop")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    public static async Task<Results<Created<NotificationCreatedView>, ProblemHttpResult>> CreateAsync([FromBody] NotificationRequest request,
        WebhookCatalog catalog, WebhookEndpoints endpoints, TimeProvider clock, CancellationToken ct)
    {
        var errors = new List<string>();
        var id = request.Id ?? "webhook-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        if (!Identifiers.IsId(id)) errors.Add($"id '{id}' must be 1-63 lowercase letters, digits, '-' or '_'");
        if (string.IsNullOrWhiteSpace(request.Url)) errors.Add("url is required");
        else if (!Uri.TryCreate(request.Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.Host.Length == 0)
            errors.Add($"url '{request.Url}' must be an absolute http or https URL");
        else if (!string.IsNullOrEmpty(uri.UserInfo))
            errors.Add("url must not carry a user name or password; put a token in its path or query, or rely on the signature");
        if (request.Events is not { IsDefaultOrEmpty: false } events)
            errors.Add($"events is required: one or more of {string.Join(", ", Enum.GetValues<NotificationEvent>().Select(WebhookCatalog.Name))}");
        if (request.Secret is { } given && (given.Length is < 16 or > 256 || given.Any(char.IsWhiteSpace)))
            errors.Add("secret must be 16 to 256 characters without spaces (or left out, and one is made)");
        if (request.Description is { Length: > 500 }) errors.Add("description must be at most 500 characters");
        if (errors.Count > 0) return Invalid(errors);
        if (await endpoints.CheckUrlAsync(request.Url!, ct) is { } refused) return Invalid([$"url: {refused.Replace("endpointUrl", "the URL")}"]);

        var webhook = new Webhook(id, request.Url!, [.. request.Events!.Value.Distinct()], request.Description, clock.GetUtcNow());
        var secret = request.Secret ?? "whsec_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        if (!await catalog.AddAsync(webhook, secret, ct))
            return TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: $"a webhook with id '{id}' exists already");
        return TypedResults.Created($"/api/notifications/{id}",
            new NotificationCreatedView(webhook.Id, webhook.Url, webhook.Events, webhook.Description, webhook.CreatedAt, secret));
    }

    public static async Task<Ok<IReadOnlyList<NotificationView>>> ListAsync(WebhookCatalog catalog, CancellationToken ct) =>
        TypedResults.Ok<IReadOnlyList<NotificationView>>((await catalog.ListAsync(ct)).Select(NotificationView.Of).ToList());

    public static async Task<Results<Ok<NotificationView>, ProblemHttpResult>> GetAsync(string id, WebhookCatalog catalog, CancellationToken ct) =>
        await catalog.GetAsync(id, ct) is { } webhook ? TypedResults.Ok(NotificationView.Of(webhook)) : NotFound(id);

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string id, WebhookCatalog catalog,
        IRequiredActor<NotificationsActor> notifications, CancellationToken ct)
    {
        if (!await catalog.DeleteAsync(id, ct)) return NotFound(id);
        (await notifications.GetAsync(ct)).Tell(new NotificationsActor.WebhookRemoved(id));
        return TypedResults.NoContent();
    }

    private static ProblemHttpResult NotFound(string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"no webhook '{id}'");

    private static ProblemHttpResult Invalid(IReadOnlyList<string> errors) =>
        TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, title: "The request is not valid", detail: string.Join("; ", errors),
            extensions: new Dictionary<string, object?> { ["errors"] = errors });
}
