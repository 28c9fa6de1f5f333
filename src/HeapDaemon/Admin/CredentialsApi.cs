using HeapDaemon.Access;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

public static class CredentialsApi
{
    public static void MapCredentialsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/credentials").WithTags("Credentials");
        group.MapPost("/", AddAsync).WithName("AddCredential").ForAdmins()
            .WithSummary("Add an S3 credential (authMode role, keys or default) or a PGP credential; secrets are write-only");
        group.MapGet("/", ListAsync).WithName("ListCredentials").ForViewers().WithSummary("Every credential, without secrets");
        group.MapGet("/{id}", GetAsync).WithName("GetCredential").ForViewers().WithSummary("One credential, without secrets");
        group.MapDelete("/{id}", DeleteAsync).WithName("DeleteCredential").ForAdmins()
            .WithSummary("Delete a credential that no courier uses; one in use answers 409 naming the couriers");
        group.MapCredentialChecks();
    }

    public static async Task<Results<Created<CredentialView>, InvalidProblem, ConflictProblem>> AddAsync(
        CredentialRequest body, CredentialService credentials, CancellationToken ct) =>
        await credentials.AddAsync(body, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Created($"/api/credentials/{view!.Id}", view),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: var f } => f.AsInvalid(),
        };

    public static async Task<Ok<IReadOnlyList<CredentialView>>> ListAsync(CredentialService credentials, CancellationToken ct) =>
        TypedResults.Ok(await credentials.ListAsync(ct));

    public static async Task<Results<Ok<CredentialView>, NotFoundProblem>> GetAsync(string id, CredentialService credentials, CancellationToken ct) =>
        await credentials.GetAsync(id, ct) switch
        {
            { Failure: null, Value: var view } => TypedResults.Ok(view),
            { Failure: var f } => f.AsNotFound(),
        };

    public static async Task<Results<NoContent, NotFoundProblem, ConflictProblem, UnavailableProblem>> DeleteAsync(
        string id, CredentialService credentials, CancellationToken ct) =>
        await credentials.DeleteAsync(id, ct) switch
        {
            { Failure: null } => TypedResults.NoContent(),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: { Kind: FailureKind.Conflict } f } => f.AsConflict(),
            { Failure: var f } => f.AsUnavailable(),
        };
}
