using HeapDaemon.Access;
using HeapDaemon.Actors.Storage;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <param name="Prefix">Optional: test listing under this prefix, for a role allowed only part of the bucket.</param>
public sealed record ConnectionTestRequest(string? Prefix = null);

/// <summary>
/// What a user does with an S3 credential before a courier uses it: test it, and browse the bucket. Both reach the
/// customer's bucket, so both are for admins.
/// </summary>
public static class CredentialChecksApi
{
    public static void MapCredentialChecks(this RouteGroupBuilder credentials)
    {
        credentials.MapPost("/{id}/test", TestAsync).WithName("TestCredential").ForAdmins()
            .WithSummary("Test a credential: { ok, message } with \"Connection successful\" or the cause and AWS's error code");
        credentials.MapGet("/{id}/browse", BrowseAsync).WithName("BrowseBucket").ForAdmins()
            .WithSummary("Browse the credential's bucket: folders and objects under a prefix, one page at a time");
    }

    public static async Task<Results<Ok<ConnectionTestResult>, NotFoundProblem>> TestAsync(
        string id, ConnectionTestRequest? body, CredentialService credentials, CancellationToken ct) =>
        await credentials.TestAsync(id, body?.Prefix, ct) switch
        {
            { Failure: null, Value: var result } => TypedResults.Ok(result),
            { Failure: var f } => f.AsNotFound(),
        };

    /// <param name="pageSize">1-1000; default 200.</param>
    public static async Task<Results<Ok<BrowsePage>, InvalidProblem, NotFoundProblem, UpstreamProblem>> BrowseAsync(
        string id, string? prefix, string? continuationToken, int? pageSize, CredentialService credentials, CancellationToken ct) =>
        await credentials.BrowseAsync(id, prefix, continuationToken, pageSize, ct) switch
        {
            { Failure: null, Value: var page } => TypedResults.Ok(page),
            { Failure: { Kind: FailureKind.Invalid } f } => f.AsInvalid(),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: var f } => f.AsUpstream(),
        };
}
