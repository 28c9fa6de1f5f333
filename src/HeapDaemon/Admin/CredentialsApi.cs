using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using HeapDaemon.Access;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Pgp;
using Microsoft.AspNetCore.Http.HttpResults;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Admin;

public enum CredentialKind { S3, Pgp }

/// <summary>
/// A new credential. <c>kind: "s3"</c> takes <c>bucket</c>, <c>region</c>, <c>endpointUrl</c> and an <c>authMode</c>
/// with its fields; <c>kind: "pgp"</c> takes <c>privateKey</c> and <c>passphrase</c>, and optionally the senders'
/// <c>signerPublicKey</c> and <c>requireSignature</c>.
/// </summary>
/// <param name="AuthMode">s3: <c>keys</c> (default), <c>role</c> or <c>default</c> (the daemon's AWS credential chain).</param>
/// <param name="SecretAccessKey">s3, authMode keys. Write-only: stored encrypted, never returned.</param>
/// <param name="ExternalId">s3, authMode role: left out, the daemon makes one up (as Amperity does) for the trust policy.</param>
/// <param name="PrivateKey">pgp. Write-only: an armored private key, or several (a keyring during rotation); stored sealed, never returned.</param>
/// <param name="Passphrase">pgp. Write-only: unlocks every decryption key of the keyring; empty for keys without one.</param>
/// <param name="SignerPublicKey">pgp: the senders' armored public keys (one or several); a file's signature by one of them is verified.</param>
/// <param name="RequireSignature">pgp: a file must be signed by one of the signer keys; unsigned files, or files signed by another key, fail.</param>
public sealed record CredentialRequest(
    string Id,
    CredentialKind Kind,
    string? Bucket = null,
    string? Region = null,
    string? EndpointUrl = null,
    S3AuthMode? AuthMode = null,
    string? AccessKeyId = null,
    string? SecretAccessKey = null,
    string? RoleArn = null,
    string? ExternalId = null,
    string? PrivateKey = null,
    string? Passphrase = null,
    string? SignerPublicKey = null,
    bool? RequireSignature = null)
{
    public S3Credential ToS3Credential()
    {
        var mode = AuthMode ?? S3AuthMode.Keys;
        return new S3Credential(Id, Bucket ?? "", Region ?? "us-east-1", EndpointUrl, mode, AccessKeyId, RoleArn,
            mode == S3AuthMode.Role ? ExternalId ?? NewExternalId() : ExternalId);
    }

    private static string NewExternalId() => "heapd-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
}

/// <summary>
/// A credential as shown: never a secret. s3 credentials show where and how; pgp credentials their keys' public facts,
/// the signer keys' too, and whether a signature is required.
/// </summary>
public sealed record CredentialView(
    string Id,
    CredentialKind Kind,
    string? Bucket = null,
    string? Region = null,
    string? EndpointUrl = null,
    S3AuthMode? AuthMode = null,
    string? AccessKeyId = null,
    string? RoleArn = null,
    string? ExternalId = null,
    IReadOnlyList<PgpKeyInfo>? Keys = null,
    IReadOnlyList<PgpKeyInfo>? Signers = null,
    bool? RequireSignature = null)
{
    public static CredentialView Of(S3Credential c) =>
        new(c.Id, CredentialKind.S3, c.Bucket, c.Region, c.EndpointUrl, c.AuthMode, c.AccessKeyId, c.RoleArn, c.ExternalId);

    public static CredentialView Of(PgpCredential c) =>
        new(c.Id, CredentialKind.Pgp, Keys: c.Keys, Signers: c.Signers ?? [], RequireSignature: c.RequireSignature);
}

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
        CredentialRequest body, CredentialCatalog catalog, PgpKeyCatalog pgp, EndpointPolicy endpoints, CancellationToken ct)
    {
        if (body.Kind == CredentialKind.Pgp) return await PgpCredentialsApi.AddAsync(body, pgp, ct);
        var errors = new List<string>();
        var pgpOnly = new[] { ("privateKey", body.PrivateKey is not null), ("passphrase", body.Passphrase is not null),
            ("signerPublicKey", body.SignerPublicKey is not null), ("requireSignature", body.RequireSignature is not null) }
            .Where(f => f.Item2).Select(f => f.Item1).ToList();
        if (pgpOnly.Count > 0) errors.Add($"{string.Join(", ", pgpOnly)} {(pgpOnly.Count == 1 ? "is" : "are")} for kind 'pgp'");
        if (body.Bucket is null) errors.Add("bucket is required for kind 's3'");
        var credential = body.ToS3Credential();
        errors.AddRange(credential.Validate());
        if (credential.AuthMode == S3AuthMode.Keys && string.IsNullOrEmpty(body.SecretAccessKey)) errors.Add("authMode 'keys' needs secretAccessKey");
        if (credential.AuthMode != S3AuthMode.Keys && body.SecretAccessKey is not null) errors.Add("secretAccessKey is only for authMode 'keys'");
        if (errors.Count > 0) return new InvalidProblem(errors.Distinct().ToList());
        if (credential.EndpointUrl is { } endpoint && await endpoints.CheckUrlAsync(endpoint, ct) is { } refused) return new InvalidProblem(refused);
        return await catalog.AddAsync(credential, body.SecretAccessKey, ct)
            ? TypedResults.Created($"/api/credentials/{credential.Id}", CredentialView.Of(credential))
            : new ConflictProblem($"a credential with id '{credential.Id}' exists already");
    }

    public static async Task<Ok<IReadOnlyList<CredentialView>>> ListAsync(CredentialCatalog catalog, PgpKeyCatalog pgp, CancellationToken ct) =>
        TypedResults.Ok<IReadOnlyList<CredentialView>>((await catalog.ListAsync(ct)).Select(CredentialView.Of)
            .Concat((await pgp.ListAsync(ct)).Select(CredentialView.Of))
            .OrderBy(c => c.Id, StringComparer.Ordinal).ToList());

    public static async Task<Results<Ok<CredentialView>, NotFoundProblem>> GetAsync(string id, CredentialCatalog catalog, PgpKeyCatalog pgp, CancellationToken ct) =>
        await catalog.GetAsync(id, ct) is { } credential ? TypedResults.Ok(CredentialView.Of(credential))
        : await pgp.GetAsync(id, ct) is { } key ? TypedResults.Ok(CredentialView.Of(key))
        : new NotFoundProblem($"no credential '{id}'");

    public static async Task<Results<NoContent, NotFoundProblem, ConflictProblem, UnavailableProblem>> DeleteAsync(
        string id, IRequiredActor<CourierRegistryActor> couriers, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new DeleteCredential(id), TimeSpan.FromSeconds(15), ct) switch
        {
            CredentialDeleted => TypedResults.NoContent(),
            CredentialNotFound => new NotFoundProblem($"no credential '{id}'"),
            CredentialInUse inUse => new ConflictProblem(
                $"credential '{id}' is used by {string.Join(", ", inUse.Uses)}; point them at another credential or delete them first",
                new Dictionary<string, object?> { ["couriers"] = inUse.Couriers }),
            var reply => CouriersApi.Unexpected(reply, "The credential could not be deleted now"),
        };
}
