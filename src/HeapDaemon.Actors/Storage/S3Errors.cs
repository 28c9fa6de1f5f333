using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;

namespace HeapDaemon.Actors.Storage;

/// <summary>Says what went wrong with an S3 call in words a user can act on, naming the object and AWS's error code.</summary>
public static class S3Errors
{
    public static string Describe(Exception exception, string bucket, string? key)
    {
        var target = key is null ? $"s3://{bucket}" : $"s3://{bucket}/{key}";
        switch (exception)
        {
            case AmazonS3Exception s3:
                var code = s3.ErrorCode ?? (s3.StatusCode == HttpStatusCode.NotFound ? "NotFound" : s3.StatusCode.ToString());
                return code switch
                {
                    "NoSuchKey" or "NotFound" when key is not null => $"{target}: no such object ({code})",
                    "NoSuchBucket" => $"{target}: bucket '{bucket}' does not exist (NoSuchBucket)",
                    "InvalidAccessKeyId" => $"{target}: the access key id is not known to S3 (InvalidAccessKeyId)",
                    "SignatureDoesNotMatch" => $"{target}: the secret access key is wrong (SignatureDoesNotMatch)",
                    "AccessDenied" or "Forbidden" => $"{target}: access denied ({code})",
                    "InvalidBucketName" => $"{target}: invalid bucket name (InvalidBucketName)",
                    "PreconditionFailed" => $"{target}: the object changed while it was being read (PreconditionFailed); run again",
                    _ => $"{target}: {code}: {s3.Message}",
                };
            case AmazonServiceException { InnerException: { } inner }:
                return Describe(inner, bucket, key);
            case HttpRequestException or SocketException:
                return $"{target}: endpoint unreachable ({Innermost(exception).Message})";
            case TaskCanceledException or TimeoutException:
                return $"{target}: the request timed out ({exception.Message})";
            case IOException:
                // Mid-object: the endpoint answered, then the connection broke or stalled.
                return $"{target}: reading the object failed: {Innermost(exception).Message}";
            default:
                return $"{target}: {exception.Message}";
        }
    }

    private static Exception Innermost(Exception exception) =>
        exception.InnerException is null ? exception : Innermost(exception.InnerException);
}
