using System.Security.Cryptography;
using Akka.Actor;
using Akka.Hosting;
using Amazon.Runtime;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Pgp;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Management;

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

    /// <summary>What a role's trust policy must name, made up before the credential is saved so a user can copy it first.</summary>
    public static string NewExternalId() => "heapd-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
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

/// <summary>The objects a filename pattern finds in a window of days, as a run would find them.</summary>
/// <param name="Missing">The days (or the one undated look) that found nothing, as the pattern reads for them.</param>
public sealed record PatternMatches(string Pattern, RunWindow Window, IReadOnlyList<PlannedFile> Files, IReadOnlyList<MissingFile> Missing);

/// <summary>
/// Credentials as a user handles them, for the admin API and the console alike: add (checked, secrets sealed), list,
/// delete (refused while a courier uses one), test a connection, and browse a bucket.
/// </summary>
public sealed class CredentialService(
    CredentialCatalog catalog, PgpKeyCatalog pgp, EndpointPolicy endpoints, S3ClientFactory clients, S3ConnectionTest test,
    IRequiredActor<CourierRegistryActor> couriers)
{
    public async Task<Outcome<CredentialView>> AddAsync(CredentialRequest body, CancellationToken ct)
    {
        if (body.Kind == CredentialKind.Pgp) return await AddPgpAsync(body, ct);
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
        if (errors.Count > 0) return Failure.Invalid(errors.Distinct().ToList());
        if (credential.EndpointUrl is { } endpoint && await endpoints.CheckUrlAsync(endpoint, ct) is { } refused) return Failure.Invalid(refused);
        return await catalog.AddAsync(credential, body.SecretAccessKey, ct)
            ? CredentialView.Of(credential)
            : Failure.Conflict($"a credential with id '{credential.Id}' exists already");
    }

    private async Task<Outcome<CredentialView>> AddPgpAsync(CredentialRequest request, CancellationToken ct)
    {
        var errors = new List<string>();
        if (!Identifiers.IsId(request.Id)) errors.Add($"id '{request.Id}' must be {Identifiers.IdRule}");
        if (string.IsNullOrWhiteSpace(request.PrivateKey)) errors.Add("privateKey is required");
        if (request.Passphrase is null) errors.Add("passphrase is required (empty for a key without one)");
        var s3Only = new[] { ("bucket", request.Bucket), ("region", request.Region), ("endpointUrl", request.EndpointUrl), ("accessKeyId", request.AccessKeyId),
            ("secretAccessKey", request.SecretAccessKey), ("roleArn", request.RoleArn), ("externalId", request.ExternalId) }
            .Where(f => f.Item2 is not null).Select(f => f.Item1).ToList();
        if (request.AuthMode is not null) s3Only.Add("authMode");
        if (s3Only.Count > 0) errors.Add($"{string.Join(", ", s3Only)} are for kind 's3'");
        if (errors.Count > 0) return Failure.Invalid(errors);

        PgpKeyring keyring;
        try
        {
            keyring = PgpKeyring.Parse(request.PrivateKey!, request.Passphrase!, request.SignerPublicKey, request.RequireSignature ?? false);
        }
        catch (PgpKeyException e)
        {
            return Failure.Invalid(e.Message);
        }
        var credential = new PgpCredential(request.Id, keyring.Keys, keyring.Signers, keyring.RequireSignature);
        return await pgp.AddAsync(credential, request.PrivateKey!, request.Passphrase!, request.SignerPublicKey, ct)
            ? CredentialView.Of(credential)
            : Failure.Conflict($"a credential with id '{credential.Id}' exists already");
    }

    public async Task<IReadOnlyList<CredentialView>> ListAsync(CancellationToken ct) =>
        (await catalog.ListAsync(ct)).Select(CredentialView.Of)
            .Concat((await pgp.ListAsync(ct)).Select(CredentialView.Of))
            .OrderBy(c => c.Id, StringComparer.Ordinal).ToList();

    public async Task<Outcome<CredentialView>> GetAsync(string id, CancellationToken ct) =>
        await catalog.GetAsync(id, ct) is { } credential ? CredentialView.Of(credential)
        : await pgp.GetAsync(id, ct) is { } key ? CredentialView.Of(key)
        : Failure.NotFound($"no credential '{id}'");

    public async Task<Outcome<string>> DeleteAsync(string id, CancellationToken ct) =>
        await (await couriers.GetAsync(ct)).Ask<object>(new DeleteCredential(id), TimeSpan.FromSeconds(15), ct) switch
        {
            CredentialDeleted => id,
            CredentialNotFound => Failure.NotFound($"no credential '{id}'"),
            CredentialInUse inUse => Failure.Conflict(
                $"credential '{id}' is used by {string.Join(", ", inUse.Uses)}; point them at another credential or delete them first",
                new Dictionary<string, object?> { ["couriers"] = inUse.Couriers }),
            var reply => CourierReplyFailure.Of(reply, "The credential could not be deleted now"),
        };

    /// <summary>Amperity's "Connection successful", or the precise cause. Never retried: a person is waiting.</summary>
    public async Task<Outcome<ConnectionTestResult>> TestAsync(string id, string? prefix, CancellationToken ct) =>
        await catalog.GetAccessAsync(id, ct) is not { } access
            ? Failure.NotFound($"no credential '{id}'")
            : await test.RunAsync(access, prefix, ct);

    public async Task<Outcome<BrowsePage>> BrowseAsync(string id, string? prefix, string? continuationToken, int? pageSize, CancellationToken ct)
    {
        var size = pageSize ?? S3Browser.DefaultPageSize;
        if (size is < 1 or > S3Browser.MaxPageSize) return Failure.Invalid($"pageSize must be 1-{S3Browser.MaxPageSize}");
        if (prefix is { Length: > 1024 }) return Failure.Invalid("prefix must be at most 1024 characters");
        if (await catalog.GetAccessAsync(id, ct) is not { } access) return Failure.NotFound($"no credential '{id}'");
        using var s3 = clients.Create(access, interactive: true);
        try
        {
            return await S3Browser.BrowseAsync(s3, access.Credential.Bucket, prefix, continuationToken, size, ct);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            var failure = S3Errors.Classify(e, access.Credential.Bucket, prefix);
            // A continuation token S3 does not know is the caller's mistake; anything else is S3's answer passed on.
            if (failure.Code == "InvalidArgument") return new Failure(FailureKind.Invalid, [failure.Message], "S3 refused to list the bucket");
            return new Failure(FailureKind.Upstream, [failure.Message], "S3 refused to list the bucket",
                new Dictionary<string, object?> { ["cause"] = failure.Cause, ["code"] = failure.Code });
        }
    }

    /// <summary>What a courier entry with this pattern would load for these days: the run's own file resolution, nothing loaded.</summary>
    public async Task<Outcome<PatternMatches>> MatchPatternAsync(string id, string pattern, RunRequest days, DateOnly today, CancellationToken ct)
    {
        if (!FilenamePattern.TryParse(pattern, out _, out var patternError)) return Failure.Invalid(patternError);
        var (window, windowError) = RunWindow.Of(days, today);
        if (window is null) return Failure.Invalid(windowError!);
        if (window.DayCount > 31) return Failure.Invalid($"look at most 31 days at a time; {window} is {window.DayCount}");
        if (await catalog.GetAccessAsync(id, ct) is not { } access) return Failure.NotFound($"no credential '{id}'");
        using var s3 = clients.Create(access, interactive: true);
        var found = await FileResolver.ResolveAsync(s3, access.Credential.Bucket, [new CourierFile(null, "", Pattern: pattern)], window, ct);
        return found.Failure is { } failure
            ? new Failure(FailureKind.Upstream, [failure.Message], "S3 refused to list the bucket")
            : new PatternMatches(pattern, window, found.Files, found.Missing);
    }
}
