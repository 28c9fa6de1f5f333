using Amazon.Runtime;
using HeapDaemon.Access;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Storage;
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
        string id, ConnectionTestRequest? body, CredentialCatalog catalog, S3ConnectionTest test, CancellationToken ct) =>
        await catalog.GetAccessAsync(id, ct) is not { } access
            ? new NotFoundProblem($"no credential '{id}'")
            : TypedResults.Ok(await test.RunAsync(access, body?.Prefix, ct));

    /// <param name="pageSize">1-1000; default 200.</param>
    public static async Task<Results<Ok<BrowsePage>, InvalidProblem, NotFoundProblem, UpstreamProblem>> BrowseAsync(
        string id, string? prefix, string? continuationToken, int? pageSize, CredentialCatalog catalog, S3ClientFactory clients, CancellationToken ct)
    {
        var size = pageSize ?? S3Browser.DefaultPageSize;
        if (size is < 1 or > S3Browser.MaxPageSize) return new InvalidProblem($"pageSize must be 1-{S3Browser.MaxPageSize}");
        if (prefix is { Length: > 1024 }) return new InvalidProblem("prefix must be at most 1024 characters");
        if (await catalog.GetAccessAsync(id, ct) is not { } access) return new NotFoundProblem($"no credential '{id}'");
        using var s3 = clients.Create(access, interactive: true);
        try
        {
            return TypedResults.Ok(await S3Browser.BrowseAsync(s3, access.Credential.Bucket, prefix, continuationToken, size, ct));
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            var failure = S3Errors.Classify(e, access.Credential.Bucket, prefix);
            // A continuation token S3 does not know is the caller's mistake; anything else is S3's answer passed on.
            if (failure.Code == "InvalidArgument") return new InvalidProblem([failure.Message], "S3 refused to list the bucket");
            return new UpstreamProblem("S3 refused to list the bucket", failure.Message,
                new Dictionary<string, object?> { ["cause"] = failure.Cause, ["code"] = failure.Code });
        }
    }
}
