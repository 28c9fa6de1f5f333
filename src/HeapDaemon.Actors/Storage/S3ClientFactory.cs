using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using HeapDaemon.Actors.Credentials;

namespace HeapDaemon.Actors.Storage;

/// <summary>Builds an S3 client for one credential; a run owns its client and disposes it when it ends.</summary>
public sealed class S3ClientFactory(S3Settings settings)
{
    public IAmazonS3 Create(S3Access access)
    {
        var credential = access.Credential;
        var config = new AmazonS3Config
        {
            MaxErrorRetry = settings.MaxErrorRetry,
            Timeout = settings.RequestTimeout,
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

        AWSCredentials awsCredentials = credential.AuthMode switch
        {
            S3AuthMode.Keys => new BasicAWSCredentials(credential.AccessKeyId, access.SecretAccessKey ?? ""),
            _ => throw new ArgumentOutOfRangeException(nameof(access), credential.AuthMode, "unknown auth mode"),
        };
        return new AmazonS3Client(awsCredentials, config);
    }
}

public sealed class S3Settings
{
    /// <summary>Retries the SDK makes itself on throttling, 5xx and connection faults before a file fails.</summary>
    public int MaxErrorRetry { get; init; } = 3;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long a read of an object's body may wait for data before the file fails (transiently).</summary>
    public TimeSpan ReadStallTimeout { get; init; } = TimeSpan.FromSeconds(60);
}
