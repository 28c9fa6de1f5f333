using HeapDaemon.Access;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <summary>
/// <c>/api/notifications</c>: webhooks for failures and recoveries (see <see cref="HeapDaemon.Actors.Notifications.NotificationEvent"/>). Admins only,
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
        NotificationService notifications, CancellationToken ct) =>
        await notifications.AddAsync(body, ct) switch
        {
            { Failure: null, Value: var created } => TypedResults.Created($"/api/notifications/{created!.Id}", created),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: var f } => f.AsInvalid(),
        };

    public static async Task<Ok<IReadOnlyList<NotificationView>>> ListAsync(NotificationService notifications, CancellationToken ct) =>
        TypedResults.Ok(await notifications.ListAsync(ct));

    public static async Task<Results<Ok<NotificationView>, NotFoundProblem>> GetAsync(string id, NotificationService notifications, CancellationToken ct) =>
        await notifications.GetAsync(id, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: var f } => f.AsNotFound(),
        };

    public static async Task<Results<NoContent, NotFoundProblem>> DeleteAsync(string id, NotificationService notifications, CancellationToken ct) =>
        await notifications.DeleteAsync(id, ct) switch
        {
            { Failure: null } => TypedResults.NoContent(),
            { Failure: var f } => f.AsNotFound(),
        };
}
