using System.Security.Cryptography;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Json;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;
using static HeapDaemon.Admin.AdminApi;

namespace HeapDaemon.Admin;

/// <param name="SecretAccessKey">Write-only: stored encrypted, never returned.</param>
/// <param name="ExternalId">authMode role: left out, the daemon makes one up (as Amperity does) for the trust policy.</param>
public sealed record CredentialRequest(
    string Id,
    string Kind,
    string Bucket,
    string? Region = null,
    string? EndpointUrl = null,
    S3AuthMode AuthMode = S3AuthMode.Keys,
    string? AccessKeyId = null,
    string? SecretAccessKey = null,
    string? RoleArn = null,
    string? ExternalId = null)
{
    public S3Credential ToCredential() => new(Id, Bucket, Region ?? "us-east-1", EndpointUrl, AuthMode, AccessKeyId, RoleArn,
        AuthMode == S3AuthMode.Role ? ExternalId ?? NewExternalId() : ExternalId);

    private static string NewExternalId() => "heapd-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}

public sealed record CredentialView(
    string Id, string Kind, string Bucket, string Region, string? EndpointUrl, S3AuthMode AuthMode, string? AccessKeyId,
    string? RoleArn, string? ExternalId)
{
    public static CredentialView Of(S3Credential c) =>
        new(c.Id, "s3", c.Bucket, c.Region, c.EndpointUrl, c.AuthMode, c.AccessKeyId, c.RoleArn, c.ExternalId);
}

public static class CredentialsApi
{
    public static void MapCredentialsApi(this RouteGroupBuilder api)
    {
        var group = api.MapGroup("/credentials").WithTags("Credentials");

        group.MapPost("/", async (HttpRequest request, CredentialCatalog catalog, PgpKeyCatalog pgp, EndpointPolicy endpoints, CancellationToken ct) =>
        {
            // The kind decides the shape, so it is read first.
            var (json, jsonError) = await ReadJsonAsync<JsonDocument>(request);
            if (jsonError is not null) return jsonError;
            using var document = json!;
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String && kind.GetString() == "pgp")
                return await PgpCredentialsApi.AddAsync(root, pgp, ct);
            CredentialRequest? body;
            try { body = root.Deserialize<CredentialRequest>(HeapJson.Options); }
            catch (JsonException e) { return Invalid($"the request body is not valid: {e.Message}"); }
            if (body is null) return Invalid("the request body is empty");
            if (body.Kind != "s3") return Invalid($"kind '{body.Kind}' is not supported; use 's3' or 'pgp'");
            var credential = body.ToCredential();
            var errors = credential.Validate().ToList();
            if (body.AuthMode == S3AuthMode.Keys && string.IsNullOrEmpty(body.SecretAccessKey)) errors.Add("authMode 'keys' needs secretAccessKey");
            if (body.AuthMode != S3AuthMode.Keys && body.SecretAccessKey is not null) errors.Add("secretAccessKey is only for authMode 'keys'");
            if (errors.Count > 0) return Invalid(errors);
            if (credential.EndpointUrl is { } endpoint && await endpoints.CheckUrlAsync(endpoint, ct) is { } refused) return Invalid(refused);
            return await catalog.AddAsync(credential, body.SecretAccessKey, ct)
                ? TypedResults.Created($"/api/credentials/{credential.Id}", CredentialView.Of(credential))
                : Conflict($"a credential with id '{credential.Id}' exists already");
        }).WithSummary("Add an S3 credential (authMode role, keys or default) or a PGP credential; secrets are write-only");

        group.MapGet("/", async (CredentialCatalog catalog, PgpKeyCatalog pgp, CancellationToken ct) =>
            TypedResults.Ok((await catalog.ListAsync(ct)).Select(c => (c.Id, View: (object)CredentialView.Of(c)))
                .Concat((await pgp.ListAsync(ct)).Select(c => (c.Id, View: (object)PgpCredentialView.Of(c))))
                .OrderBy(c => c.Id, StringComparer.Ordinal).Select(c => c.View)));

        group.MapGet("/{id}", async (string id, CredentialCatalog catalog, PgpKeyCatalog pgp, CancellationToken ct) =>
            await catalog.GetAsync(id, ct) is { } credential ? TypedResults.Ok(CredentialView.Of(credential))
            : await pgp.GetAsync(id, ct) is { } key ? TypedResults.Ok(PgpCredentialView.Of(key))
            : NotFound($"no credential '{id}'"));

        group.MapDelete("/{id}", async (string id, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
            await (await couriers.GetAsync(ct)).Ask<object>(new DeleteCredential(id), TimeSpan.FromSeconds(15), ct) switch
            {
                CredentialDeleted => Results.NoContent(),
                CredentialNotFound => NotFound($"no credential '{id}'"),
                CredentialInUse inUse => TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict",
                    detail: $"credential '{id}' is used by {string.Join(", ", inUse.Uses)}; point them at another credential or delete them first",
                    extensions: new Dictionary<string, object?> { ["couriers"] = inUse.Couriers }),
                Status.Failure failure => TypedResults.Problem(statusCode: StatusCodes.Status503ServiceUnavailable,
                    title: "The credential could not be deleted now", detail: failure.Cause.Message),
                var reply => TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError, title: $"Unexpected reply {reply.GetType().Name}"),
            }).WithSummary("Delete a credential that no courier uses; one in use answers 409 naming the couriers");

        group.MapCredentialChecks();
    }
}
