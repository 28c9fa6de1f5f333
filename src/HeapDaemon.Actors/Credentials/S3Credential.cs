using System.Text.RegularExpressions;
using HeapDaemon.Actors.Ids;

namespace HeapDaemon.Actors.Credentials;

/// <summary>
/// How the daemon signs requests for one credential: <c>role</c> assumes the customer's role with an external id
/// (Amperity's cross-account model), <c>keys</c> uses an access key and secret, <c>default</c> the process's own AWS
/// credential chain (environment, profile, instance or container role).
/// </summary>
public enum S3AuthMode { Keys, Role, Default }

/// <summary>How to reach one bucket. The secret is held apart, encrypted at rest, and never serialized back out.</summary>
/// <param name="RoleArn">authMode role: the customer's role the daemon assumes.</param>
/// <param name="ExternalId">authMode role: the external id the role's trust policy requires; not a secret.</param>
public sealed partial record S3Credential(
    string Id,
    string Bucket,
    string Region,
    string? EndpointUrl,
    S3AuthMode AuthMode,
    string? AccessKeyId,
    string? RoleArn = null,
    string? ExternalId = null)
{
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Identifiers.IsId(Id)) errors.Add($"id '{Id}' must be {Identifiers.IdRule}");
        // Only the length here: legacy us-east-1 buckets may break today's naming rules; the connection test says so.
        if (string.IsNullOrWhiteSpace(Bucket) || Bucket.Length is < 3 or > 255 || Bucket.Contains('/'))
            errors.Add("bucket must be a bucket name (3-63 characters, no '/')");
        // S3-compatible stores name their regions freely (R2's "auto"); AWS's follow one shape.
        if (string.IsNullOrWhiteSpace(Region) || !(EndpointUrl is null ? AwsRegionPattern() : AnyRegionPattern()).IsMatch(Region))
            errors.Add($"region '{Region}' is not a region name like us-east-1");
        if (EndpointUrl is not null &&
            (!Uri.TryCreate(EndpointUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            errors.Add($"endpointUrl '{EndpointUrl}' must be an absolute http(s) URL");
        switch (AuthMode)
        {
            case S3AuthMode.Keys:
                if (string.IsNullOrWhiteSpace(AccessKeyId)) errors.Add("authMode 'keys' needs accessKeyId");
                if (RoleArn is not null || ExternalId is not null) errors.Add("roleArn and externalId are only for authMode 'role'");
                break;
            case S3AuthMode.Role:
                if (RoleArn is null || !RoleArnPattern().IsMatch(RoleArn))
                    errors.Add($"authMode 'role' needs roleArn, a role ARN like arn:aws:iam::123456789012:role/heapd-reader{(RoleArn is null ? "" : $" (got '{RoleArn}')")}");
                if (ExternalIdError(ExternalId) is { } error) errors.Add(error);
                if (AccessKeyId is not null) errors.Add("accessKeyId is only for authMode 'keys'; role mode signs with the daemon's own credentials");
                break;
            case S3AuthMode.Default:
                if (AccessKeyId is not null || RoleArn is not null || ExternalId is not null)
                    errors.Add("authMode 'default' uses the daemon's AWS credential chain and takes no accessKeyId, roleArn or externalId");
                break;
        }
        return errors;
    }

    /// <summary>Amperity's rule for external ids: 2-1224 characters, letters, digits and <c>+ = , . @ : / -</c>, no spaces.</summary>
    public static string? ExternalIdError(string? externalId) =>
        externalId is null || !ExternalIdPattern().IsMatch(externalId)
            ? "externalId must be 2-1224 characters: letters, digits and + = , . @ : / - (no spaces)"
            : null;

    [GeneratedRegex(@"^[A-Za-z0-9+=,.@:/-]{2,1224}\z")]
    private static partial Regex ExternalIdPattern();

    [GeneratedRegex(@"^arn:aws(-[a-z]+)*:iam::\d{12}:role/[\w+=,.@/-]{1,512}\z")]
    private static partial Regex RoleArnPattern();

    [GeneratedRegex(@"^[a-z]{2}(-[a-z]+)+-\d{1,2}\z")]
    private static partial Regex AwsRegionPattern();

    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,31}\z")]
    private static partial Regex AnyRegionPattern();
}

/// <summary>A credential with its secret decrypted, handed only to the code that signs S3 requests.</summary>
public sealed record S3Access(S3Credential Credential, string? SecretAccessKey)
{
    // Keep the secret out of logs and exception messages that print the record.
    public override string ToString() => $"S3Access {{ Credential = {Credential}, SecretAccessKey = *** }}";
}
