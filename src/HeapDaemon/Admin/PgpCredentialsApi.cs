using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Pgp;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <summary>The <c>kind: "pgp"</c> side of <c>POST /api/credentials</c>.</summary>
public static class PgpCredentialsApi
{
    public static async Task<Results<Created<CredentialView>, InvalidProblem, ConflictProblem>> AddAsync(
        CredentialRequest request, PgpKeyCatalog catalog, CancellationToken ct)
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
        if (errors.Count > 0) return new InvalidProblem(errors);

        PgpKeyring keyring;
        try
        {
            keyring = PgpKeyring.Parse(request.PrivateKey!, request.Passphrase!, request.SignerPublicKey, request.RequireSignature ?? false);
        }
        catch (PgpKeyException e)
        {
            return new InvalidProblem(e.Message);
        }
        var credential = new PgpCredential(request.Id, keyring.Keys, keyring.Signers, keyring.RequireSignature);
        return await catalog.AddAsync(credential, request.PrivateKey!, request.Passphrase!, request.SignerPublicKey, ct)
            ? TypedResults.Created($"/api/credentials/{credential.Id}", CredentialView.Of(credential))
            : new ConflictProblem($"a credential with id '{credential.Id}' exists already");
    }
}
