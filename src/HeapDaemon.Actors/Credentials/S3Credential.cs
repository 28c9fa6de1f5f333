namespace HeapDaemon.Actors.Credentials;

public enum S3AuthMode { Keys }

/// <summary>How to reach one bucket. The secret is held apart, encrypted at rest, and never serialized back out.</summary>
public sealed record S3Credential(
    string Id,
    string Bucket,
    string Region,
    string? EndpointUrl,
    S3AuthMode AuthMode,
    string? AccessKeyId)
{
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Feeds.Identifiers.IsId(Id)) errors.Add($"id '{Id}' must be 1-63 lowercase letters, digits, '-' or '_'");
        if (string.IsNullOrWhiteSpace(Bucket) || Bucket.Length is < 3 or > 63) errors.Add("bucket must be a bucket name of 3-63 characters");
        if (string.IsNullOrWhiteSpace(Region)) errors.Add("region is required");
        if (EndpointUrl is not null &&
            (!Uri.TryCreate(EndpointUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            errors.Add($"endpointUrl '{EndpointUrl}' must be an absolute http(s) URL");
        if (AuthMode == S3AuthMode.Keys && string.IsNullOrWhiteSpace(AccessKeyId)) errors.Add("authMode 'keys' needs accessKeyId");
        return errors;
    }
}

/// <summary>A credential with its secret decrypted, handed only to the code that signs S3 requests.</summary>
public sealed record S3Access(S3Credential Credential, string? SecretAccessKey)
{
    // Keep the secret out of logs and exception messages that print the record.
    public override string ToString() => $"S3Access {{ Credential = {Credential}, SecretAccessKey = *** }}";
}
