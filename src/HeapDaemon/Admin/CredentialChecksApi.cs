using Amazon.Runtime;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Storage;
using static HeapDaemon.Admin.AdminApi;

namespace HeapDaemon.Admin;

/// <param name="Prefix">Optional: test listing under this prefix, for a role allowed only part of the bucket.</param>
public sealed record ConnectionTestRequest(string? Prefix = null);

/// <summary>What a user does with an S3 credential before a courier uses it: test it, and browse the bucket.</summary>
public static class CredentialChecksApi
{
    public static void MapCredentialChecks(this RouteGroupBuilder credentials)
    {
        credentials.MapPost("/{id}/test", async (string id, HttpRequest request, CredentialCatalog catalog, S3ConnectionTest test,
            CancellationToken ct) =>
        {
            var (body, error) = await ReadJsonAsync<ConnectionTestRequest>(request, allowEmpty: true);
            if (error is not null) return error;
            if (await catalog.GetAccessAsync(id, ct) is not { } access) return NotFound($"no credential '{id}'");
            return TypedResults.Ok(await test.RunAsync(access, body?.Prefix, ct));
        }).WithSummary("Test a credential: { ok, message } with \"Connection successful\" or the cause and AWS's error code");

        credentials.MapGet("/{id}/browse", async (string id, string? prefix, string? continuationToken, int? pageSize,
            CredentialCatalog catalog, S3ClientFactory clients, CancellationToken ct) =>
        {
            var size = pageSize ?? S3Browser.DefaultPageSize;
            if (size is < 1 or > S3Browser.MaxPageSize) return Invalid($"pageSize must be 1-{S3Browser.MaxPageSize}");
            if (prefix is { Length: > 1024 }) return Invalid("prefix must be at most 1024 characters");
            if (await catalog.GetAccessAsync(id, ct) is not { } access) return NotFound($"no credential '{id}'");
            using var s3 = clients.Create(access, interactive: true);
            try
            {
                return TypedResults.Ok(await S3Browser.BrowseAsync(s3, access.Credential.Bucket, prefix, continuationToken, size, ct));
            }
            catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && !ct.IsCancellationRequested)
            {
                var failure = S3Errors.Classify(e, access.Credential.Bucket, prefix);
                // A continuation token S3 does not know is the caller's mistake; anything else is S3's answer passed on.
                var status = failure.Code == "InvalidArgument" ? StatusCodes.Status400BadRequest : StatusCodes.Status502BadGateway;
                return TypedResults.Problem(statusCode: status, title: "S3 refused to list the bucket", detail: failure.Message,
                    extensions: new Dictionary<string, object?> { ["cause"] = failure.Cause, ["code"] = failure.Code });
            }
        }).WithSummary("Browse the credential's bucket: folders and objects under a prefix, one page at a time");
    }
}
