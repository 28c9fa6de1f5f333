using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Failures;

namespace HeapDaemon.Actors.Storage;

/// <summary>What kind of thing went wrong reaching S3, for callers (the connection test, the browser) that act on it.</summary>
public enum S3FailureCause
{
    InvalidBucketName,
    NoSuchBucket,
    NoSuchKey,
    AccessDenied,
    InvalidCredentials,
    RoleNotAssumed,
    NoCredentials,
    EndpointUnreachable,
    /// <summary>The endpoint is, or resolves to, an address the endpoint policy blocks; no connection was made.</summary>
    EndpointBlocked,
    Other,
}

/// <param name="Code">AWS's error code when S3 or STS gave one; null when there was no answer (unreachable).</param>
public sealed record S3Failure(S3FailureCause Cause, string? Code, string Message);

/// <summary>Says what went wrong with an S3 call in words a user can act on, naming the object and AWS's error code.</summary>
public static class S3Errors
{
    public static string Describe(Exception exception, string bucket, string? key) => Classify(exception, bucket, key).Message;

    public static S3Failure Classify(Exception exception, string bucket, string? key)
    {
        var target = key is null ? $"s3://{bucket}" : $"s3://{bucket}/{key}";
        if (Find<EndpointBlockedException>(exception) is { } blocked)
            return new S3Failure(S3FailureCause.EndpointBlocked, null, $"{target}: {blocked.Message}");
        if (Find<RoleNotAssumedException>(exception) is { } role)
            return new S3Failure(S3FailureCause.RoleNotAssumed, role.ErrorCode, $"{target}: {role.Message}");
        switch (exception)
        {
            case AmazonS3Exception { StatusCode: var status } redirect when (int)status is >= 300 and < 400:
                return new(S3FailureCause.Other, redirect.ErrorCode, $"{target}: the endpoint answered {(int)status} (a redirect" +
                    (redirect.ErrorCode is { } c && c != status.ToString() ? $", {c}: {redirect.Message}" : "") +
                    "); the daemon follows no redirects, so set endpointUrl and region to where the bucket is served");
            case AmazonS3Exception s3:
                var code = s3.ErrorCode ?? (s3.StatusCode == HttpStatusCode.NotFound ? "NotFound" : s3.StatusCode.ToString());
                return code switch
                {
                    "NoSuchKey" or "NotFound" when key is not null => new(S3FailureCause.NoSuchKey, code, $"{target}: no such object ({code})"),
                    "NoSuchBucket" => new(S3FailureCause.NoSuchBucket, code, $"{target}: bucket '{bucket}' does not exist (NoSuchBucket)"),
                    "InvalidAccessKeyId" => new(S3FailureCause.InvalidCredentials, code, $"{target}: the access key id is not known to S3 (InvalidAccessKeyId)"),
                    "SignatureDoesNotMatch" => new(S3FailureCause.InvalidCredentials, code, $"{target}: the secret access key is wrong (SignatureDoesNotMatch)"),
                    "ExpiredToken" or "InvalidToken" => new(S3FailureCause.InvalidCredentials, code, $"{target}: the session token was refused ({code})"),
                    "AccessDenied" or "Forbidden" => new(S3FailureCause.AccessDenied, code, $"{target}: access denied ({code})"),
                    "InvalidBucketName" => new(S3FailureCause.InvalidBucketName, code, $"{target}: invalid bucket name (InvalidBucketName)"),
                    "PreconditionFailed" => new(S3FailureCause.Other, code, $"{target}: the object changed while it was being read (PreconditionFailed); run again"),
                    _ => new(S3FailureCause.Other, code, $"{target}: {code}: {s3.Message}"),
                };
            case AmazonServiceException { InnerException: { } inner }:
                return Classify(inner, bucket, key);
            case HttpRequestException or SocketException:
                return Unreachable(target, exception);
            case TaskCanceledException or TimeoutException:
                return new S3Failure(S3FailureCause.EndpointUnreachable, null, $"{target}: the request timed out ({exception.Message})");
            case IOException:
                // Mid-object: the endpoint answered, then the connection broke or stalled.
                return new S3Failure(S3FailureCause.Other, null, $"{target}: reading the object failed: {Innermost(exception).Message}");
            // The SDK found no credentials along its default chain (authMode default, or role mode without Aws keys).
            case AmazonClientException client when client.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase):
                return new S3Failure(S3FailureCause.NoCredentials, null,
                    $"{target}: the daemon has no AWS credentials of its own (environment, profile or instance role): {client.Message}");
            default:
                return new S3Failure(S3FailureCause.Other, (exception as AmazonServiceException)?.ErrorCode, $"{target}: {FailureText.Of(exception)}");
        }
    }

    private static S3Failure Unreachable(string target, Exception e) =>
        new(S3FailureCause.EndpointUnreachable, null, $"{target}: endpoint unreachable ({Innermost(e).Message})");

    private static T? Find<T>(Exception? exception) where T : Exception =>
        exception switch
        {
            null => null,
            T found => found,
            AggregateException aggregate => aggregate.InnerExceptions.Select(Find<T>).FirstOrDefault(f => f is not null),
            _ => Find<T>(exception.InnerException),
        };

    private static Exception Innermost(Exception exception) =>
        exception.InnerException is null ? exception : Innermost(exception.InnerException);
}
