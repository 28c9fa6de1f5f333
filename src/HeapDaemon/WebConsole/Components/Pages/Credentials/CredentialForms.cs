using HeapDaemon.Actors.Credentials;
using HeapDaemon.Management;

namespace HeapDaemon.WebConsole.Components.Pages.Credentials;

/// <summary>A new S3 credential as its form posts it.</summary>
public sealed class S3CredentialForm
{
    public string? Id { get; set; }
    public string? Bucket { get; set; }
    public string? Region { get; set; }
    public string? EndpointUrl { get; set; }
    public string AuthMode { get; set; } = "keys";
    public string? AccessKeyId { get; set; }
    public string? SecretAccessKey { get; set; }
    public string? RoleArn { get; set; }

    /// <summary>Made up when the form is first shown, so the user can put it in the role's trust policy before saving.</summary>
    public string? ExternalId { get; set; }

    public CredentialRequest ToRequest()
    {
        var mode = AuthMode switch { "role" => S3AuthMode.Role, "default" => S3AuthMode.Default, _ => S3AuthMode.Keys };
        return new CredentialRequest(Trim(Id) ?? "", CredentialKind.S3, Trim(Bucket) ?? "", Trim(Region), Trim(EndpointUrl), mode,
            mode == S3AuthMode.Keys ? Trim(AccessKeyId) : null, mode == S3AuthMode.Keys ? SecretAccessKey ?? "" : null,
            mode == S3AuthMode.Role ? Trim(RoleArn) : null, mode == S3AuthMode.Role ? Trim(ExternalId) : null);
    }

    private static string? Trim(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();
}

/// <summary>A new PGP credential as its form posts it.</summary>
public sealed class PgpCredentialForm
{
    public string? Id { get; set; }
    public string? PrivateKey { get; set; }
    public string? Passphrase { get; set; }

    /// <summary>The senders' armored public keys, whose signatures are checked; optional.</summary>
    public string? SignerPublicKey { get; set; }

    public bool RequireSignature { get; set; }

    public CredentialRequest ToRequest() =>
        new(Id?.Trim() ?? "", CredentialKind.Pgp, PrivateKey: PrivateKey, Passphrase: Passphrase ?? "",
            SignerPublicKey: string.IsNullOrWhiteSpace(SignerPublicKey) ? null : SignerPublicKey, RequireSignature: RequireSignature ? true : null);
}
