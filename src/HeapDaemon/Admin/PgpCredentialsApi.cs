using System.Text.Json;
using HeapDaemon.Actors;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats.Pgp;
using static HeapDaemon.Admin.AdminApi;

namespace HeapDaemon.Admin;

/// <param name="PrivateKey">Write-only: an armored private key, or several (a keyring during rotation); stored sealed, never returned.</param>
/// <param name="Passphrase">Write-only: unlocks every decryption key of the keyring.</param>
/// <param name="SignerPublicKey">The senders' armored public keys (one or several): signatures by them are verified.</param>
/// <param name="RequireSignature">A file must be signed by one of them; unsigned files, or files signed by another key, fail.</param>
public sealed record PgpCredentialRequest(string Id, string Kind, string PrivateKey, string Passphrase, string? SignerPublicKey = null,
    bool RequireSignature = false);

public sealed record PgpCredentialView(string Id, string Kind, IReadOnlyList<PgpKeyInfo> Keys, IReadOnlyList<PgpKeyInfo> Signers, bool RequireSignature)
{
    public static PgpCredentialView Of(PgpCredential c) => new(c.Id, "pgp", c.Keys, c.Signers ?? [], c.RequireSignature);
}

/// <summary>The <c>kind: "pgp"</c> side of <c>/api/credentials</c>.</summary>
public static class PgpCredentialsApi
{
    public static async Task<IResult> AddAsync(JsonElement body, PgpKeyCatalog catalog, CancellationToken ct)
    {
        PgpCredentialRequest? request;
        try
        {
            request = body.Deserialize<PgpCredentialRequest>(HeapJson.Options);
        }
        catch (JsonException e)
        {
            // The message names the property, never its value: no key material in a response.
            return Invalid($"the request body is not valid: {e.Message}");
        }
        if (request is null) return Invalid("the request body is empty");
        var errors = new List<string>();
        if (!Identifiers.IsId(request.Id)) errors.Add($"id '{request.Id}' must be 1-63 lowercase letters, digits, '-' or '_'");
        if (string.IsNullOrWhiteSpace(request.PrivateKey)) errors.Add("privateKey is required");
        if (request.Passphrase is null) errors.Add("passphrase is required (empty for a key without one)");
        if (errors.Count > 0) return Invalid(errors);

        PgpKeyring keyring;
        try
        {
            keyring = PgpKeyring.Parse(request.PrivateKey, request.Passphrase!, request.SignerPublicKey, request.RequireSignature);
        }
        catch (PgpKeyException e)
        {
            return Invalid(e.Message);
        }
        var credential = new PgpCredential(request.Id, keyring.Keys, keyring.Signers, keyring.RequireSignature);
        return await catalog.AddAsync(credential, request.PrivateKey, request.Passphrase!, request.SignerPublicKey, ct)
            ? TypedResults.Created($"/api/credentials/{credential.Id}", PgpCredentialView.Of(credential))
            : Conflict($"a credential with id '{credential.Id}' exists already");
    }
}
