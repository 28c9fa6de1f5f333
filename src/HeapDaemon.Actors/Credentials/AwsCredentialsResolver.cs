using System.Collections.Concurrent;
using Amazon;
using Amazon.Runtime;
using Amazon.SecurityToken;
using HeapDaemon.Actors.Endpoints;

namespace HeapDaemon.Actors.Credentials;

/// <summary>
/// The daemon's own AWS identity (configuration section <c>Aws</c>): what role-mode credentials assume roles with.
/// Without keys here, the process's default AWS credential chain is used (environment, profile, instance or
/// container role).
/// </summary>
public sealed class AwsSettings
{
    public string? AccessKeyId { get; init; }

    /// <summary>Configuration only; never stored or shown.</summary>
    public string? SecretAccessKey { get; init; }

    /// <summary>STS endpoint for role credentials that have no endpointUrl of their own; default: the region's STS.</summary>
    public string? StsEndpoint { get; init; }

    /// <summary>How long an assumed-role session lasts (STS allows 15 minutes up to the role's maximum).</summary>
    public TimeSpan RoleSessionDuration { get; init; } = TimeSpan.FromHours(1);

    /// <summary>How long before expiry a role session is renewed.</summary>
    public TimeSpan RefreshBefore { get; init; } = TimeSpan.FromMinutes(5);

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrEmpty(AccessKeyId) != string.IsNullOrEmpty(SecretAccessKey))
            errors.Add("Aws:AccessKeyId and Aws:SecretAccessKey go together; set both or neither");
        if (RoleSessionDuration < TimeSpan.FromMinutes(15) || RoleSessionDuration > TimeSpan.FromHours(12))
            errors.Add("Aws:RoleSessionDuration must be between 00:15:00 and 12:00:00");
        if (RefreshBefore < TimeSpan.Zero || RefreshBefore >= RoleSessionDuration)
            errors.Add("Aws:RefreshBefore must be at least zero and shorter than Aws:RoleSessionDuration");
        if (StsEndpoint is not null && !Uri.TryCreate(StsEndpoint, UriKind.Absolute, out _))
            errors.Add($"Aws:StsEndpoint '{StsEndpoint}' must be an absolute URL");
        return errors;
    }
}

/// <summary>
/// Turns a credential into what signs its requests. Role sessions are kept per credential (keyed by everything that
/// shapes them), so every client of a credential shares one session and its refreshes.
/// </summary>
/// <remarks>STS is called through <paramref name="http"/>: an endpoint the policy blocks for S3 is blocked for STS too.</remarks>
public sealed class AwsCredentialsResolver(AwsSettings settings, TimeProvider clock, GuardedHttpClientFactory http)
{
    private readonly ConcurrentDictionary<S3Credential, AssumedRoleCredentials> _roles = new();

    /// <returns>The credentials to sign with; null means the SDK's default credential chain.</returns>
    public AWSCredentials? Resolve(S3Access access)
    {
        var credential = access.Credential;
        return credential.AuthMode switch
        {
            S3AuthMode.Keys => new BasicAWSCredentials(credential.AccessKeyId, access.SecretAccessKey ?? ""),
            S3AuthMode.Default => null,
            S3AuthMode.Role => _roles.GetOrAdd(credential, AssumeRole),
            _ => throw new ArgumentOutOfRangeException(nameof(access), credential.AuthMode, "unknown auth mode"),
        };
    }

    private AssumedRoleCredentials AssumeRole(S3Credential credential)
    {
        var config = new AmazonSecurityTokenServiceConfig
        {
            MaxErrorRetry = 2, Timeout = TimeSpan.FromSeconds(30), HttpClientFactory = http, AllowAutoRedirect = true, // see S3ClientFactory
        };
        // An S3-compatible store serves STS at its own endpoint; AWS has a regional STS endpoint per region.
        if ((credential.EndpointUrl ?? settings.StsEndpoint) is { } endpoint)
        {
            config.ServiceURL = endpoint;
            config.AuthenticationRegion = credential.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(credential.Region);
        }
        var sts = string.IsNullOrEmpty(settings.AccessKeyId)
            ? new AmazonSecurityTokenServiceClient(config)
            : new AmazonSecurityTokenServiceClient(new BasicAWSCredentials(settings.AccessKeyId, settings.SecretAccessKey), config);
        return new AssumedRoleCredentials(sts, credential.RoleArn!, credential.ExternalId!, SessionName(credential.Id),
            settings.RoleSessionDuration, settings.RefreshBefore, clock);
    }

    /// <summary>Shows up in the customer's CloudTrail, so it says who and which credential.</summary>
    private static string SessionName(string credentialId)
    {
        var name = "heapdaemon-" + credentialId;
        return name.Length <= 64 ? name : name[..64];
    }
}
