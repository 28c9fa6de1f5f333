using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HeapDaemon.Actors.Credentials;

namespace HeapDaemon.Actors.Storage;

/// <param name="Cause">Null when the test passed.</param>
/// <param name="Code">AWS's error code, when S3 or STS answered with one.</param>
public sealed record ConnectionTestResult(bool Ok, string Message, S3FailureCause? Cause = null, string? Code = null)
{
    public const string Success = "Connection successful";
}

/// <summary>
/// Amperity's "test the configuration": can the daemon, with this credential, list the bucket (under a prefix, for
/// roles limited to one)? Listing is what couriers with patterns and the file browser need, and it answers with
/// distinct error codes for a missing bucket, refused access and bad keys.
/// </summary>
public sealed class S3ConnectionTest(S3ClientFactory clients)
{
    public async Task<ConnectionTestResult> RunAsync(S3Access access, string? prefix, CancellationToken ct)
    {
        var bucket = access.Credential.Bucket;
        var badName = S3BucketNames.Problem(bucket);
        using var s3 = clients.Create(access, interactive: true);
        try
        {
            await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, MaxKeys = 1 }, ct);
            return new ConnectionTestResult(true, ConnectionTestResult.Success);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            var failure = S3Errors.Classify(e, bucket, null);
            // S3 (and emulators) often say only NoSuchBucket for a name that could never exist; name the real cause.
            if (badName is not null && failure.Cause is S3FailureCause.NoSuchBucket or S3FailureCause.InvalidBucketName or S3FailureCause.Other)
                return new ConnectionTestResult(false,
                    $"s3://{bucket}: invalid bucket name: {badName} (S3 answered {failure.Code ?? "without a code"})",
                    S3FailureCause.InvalidBucketName, failure.Code);
            return new ConnectionTestResult(false, failure.Message, failure.Cause, failure.Code);
        }
    }
}
