using Amazon;
using Amazon.S3;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Endpoints;

namespace HeapDaemon.Actors.Storage;

/// <summary>
/// Builds an S3 client for one credential; a run owns its client and disposes it when it ends. Every client connects
/// through <paramref name="http"/>, so only where the endpoint policy allows.
/// </summary>
public sealed class S3ClientFactory(S3Settings settings, AwsCredentialsResolver credentials, GuardedHttpClientFactory http)
{
    /// <param name="interactive">For a person waiting on an API answer (connection test, browser): fail fast, fewer retries.</param>
    public IAmazonS3 Create(S3Access access, bool interactive = false)
    {
        var credential = access.Credential;
        var config = new AmazonS3Config
        {
            MaxErrorRetry = interactive ? Math.Min(settings.MaxErrorRetry, 1) : settings.MaxErrorRetry,
            Timeout = interactive ? settings.InteractiveTimeout : settings.RequestTimeout,
            HttpClientFactory = http,
            // True leaves redirects to the HTTP client, which follows none (GuardedHttpClientFactory): a 30x is an error
            // answer, and nothing is fetched from where it points. False would have the SDK follow S3's 307 itself.
            AllowAutoRedirect = true,
        };
        if (credential.EndpointUrl is { } endpoint)
        {
            // S3-compatible stores (MinIO, moto) want path-style addressing and sign with the credential's region.
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = credential.Region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(credential.Region);
        }

        // No credentials: the SDK looks them up along its default chain when the first request needs them.
        return credentials.Resolve(access) is { } signing ? new AmazonS3Client(signing, config) : new AmazonS3Client(config);
    }
}

public sealed class S3Settings
{
    /// <summary>Retries the SDK makes itself on throttling, 5xx and connection faults before a file fails.</summary>
    public int MaxErrorRetry { get; init; } = 3;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a read of an object's body may wait for data before the object is reopened where it stopped.</summary>
    public TimeSpan ReadStallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Reopenings of an object, in a row without progress, before its file fails (and the run is retried).</summary>
    public int MaxResumes { get; init; } = 5;

    /// <summary>Request timeout for the connection test and the file browser.</summary>
    public TimeSpan InteractiveTimeout { get; init; } = TimeSpan.FromSeconds(20);
}
