using Amazon.S3;
using Amazon.S3.Model;

namespace HeapDaemon.Actors.Storage;

/// <param name="Prefix">The folder's full prefix, ending in '/'.</param>
/// <param name="Name">The last segment, as a browser shows it.</param>
public sealed record BrowseFolder(string Prefix, string Name);

public sealed record BrowseObject(string Key, string Name, long Size, DateTimeOffset? LastModified, string? ETag, string? StorageClass);

/// <param name="NextContinuationToken">Pass it back for the next page; null on the last page.</param>
public sealed record BrowsePage(string Prefix, IReadOnlyList<BrowseFolder> Folders, IReadOnlyList<BrowseObject> Objects, string? NextContinuationToken);

/// <summary>
/// One page of a bucket as folders and files: ListObjectsV2 with '/' as delimiter, so a page costs one request
/// whatever the bucket holds, and the continuation token pages on. Never lists more than the page asked for.
/// </summary>
public static class S3Browser
{
    public const int MaxPageSize = 1000;
    public const int DefaultPageSize = 200;

    public static async Task<BrowsePage> BrowseAsync(IAmazonS3 s3, string bucket, string? prefix, string? continuationToken, int pageSize,
        CancellationToken ct)
    {
        prefix ??= "";
        var response = await s3.ListObjectsV2Async(new ListObjectsV2Request
        {
            BucketName = bucket,
            Prefix = prefix,
            Delimiter = "/",
            MaxKeys = pageSize,
            ContinuationToken = string.IsNullOrEmpty(continuationToken) ? null : continuationToken,
        }, ct);
        // SDK v4 leaves empty collections null.
        var folders = (response.CommonPrefixes ?? []).Select(p => new BrowseFolder(p, Name(p.TrimEnd('/')))).ToList();
        var objects = (response.S3Objects ?? [])
            .Select(o => new BrowseObject(o.Key, Name(o.Key), o.Size ?? 0,
                o.LastModified is { } at ? new DateTimeOffset(at.ToUniversalTime()) : null, o.ETag?.Trim('"'), o.StorageClass?.Value))
            .ToList();
        return new BrowsePage(prefix, folders, objects, response.IsTruncated == true ? response.NextContinuationToken : null);
    }

    private static string Name(string path) => path[(path.LastIndexOf('/') + 1)..];
}
