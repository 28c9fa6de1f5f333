using System.Collections.Immutable;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;

namespace HeapDaemon.Actors.Couriers;

/// <summary>An object a run will load, found by its entry for a day (null for keys and undated patterns).</summary>
public sealed record PlannedFile(int Entry, CourierFile File, DateOnly? Day, string Key);

/// <summary>An entry that found nothing for a day; <see cref="Expected"/> is the key or the pattern for that day.</summary>
public sealed record MissingFile(int Entry, CourierFile File, DateOnly? Day, string Expected);

/// <summary>An entry whose objects could not be listed; <see cref="Message"/> is the S3 cause, naming the prefix.</summary>
/// <param name="Fault">Whether another attempt may list it (throttling, a 5xx, a refused connection).</param>
public sealed record ListingFailure(CourierFile File, string Expected, string Message, FaultKind Fault);

/// <param name="Failure">When set, listing stopped there and the other lists are incomplete.</param>
public sealed record FileSet(IReadOnlyList<PlannedFile> Files, IReadOnlyList<MissingFile> Missing, ListingFailure? Failure = null);

/// <summary>
/// Finds the objects a run loads, before it loads any. Order: day by day; within a day, entries in their configured
/// order; within an entry, keys in S3's (binary) order. Entries that name no day (keys, undated patterns) are looked
/// for once, with the first day. An object an entry found on an earlier day is not loaded again for a later one.
/// </summary>
/// <remarks>
/// A pattern is walked one path segment at a time: literal segments are appended, and a segment with a wildcard or
/// time component is listed with '/' as delimiter under the longest literal prefix, so S3 never lists more than the
/// folders the pattern can reach, never the whole bucket; every listing is paginated.
/// </remarks>
public static class FileResolver
{
    public static async Task<FileSet> ResolveAsync(IAmazonS3 s3, string bucket, ImmutableArray<CourierFile> entries, RunWindow window,
        CancellationToken ct)
    {
        var files = new List<PlannedFile>();
        var missing = new List<MissingFile>();
        var seen = new HashSet<(int Entry, string Key)>();
        var (current, expected, prefix) = (entries[0], "", "");
        try
        {
            foreach (var day in window.Days)
            {
                for (var entry = 0; entry < entries.Length; entry++)
                {
                    var file = entries[entry];
                    var pattern = file.Pattern is null ? null : FilenamePattern.Parse(file.Pattern);
                    var dated = pattern?.IsDated == true;
                    if (!dated && day != window.From) continue;
                    var expanded = pattern?.For(day);
                    (current, expected, prefix) = (file, expanded?.ToString() ?? file.Key!, expanded?.LiteralPrefix ?? file.Key!);
                    var keys = expanded is null
                        ? await KeyExistsAsync(s3, bucket, file.Key!, ct) ? [file.Key!] : []
                        : await MatchAsync(s3, bucket, expanded, ct);
                    if (keys.Count == 0) missing.Add(new MissingFile(entry, file, dated ? day : null, expected));
                    files.AddRange(keys.Order(StringComparer.Ordinal).Where(k => seen.Add((entry, k)))
                        .Select(k => new PlannedFile(entry, file, dated ? day : null, k)));
                }
            }
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            return new FileSet(files, missing,
                new ListingFailure(current, expected, S3Errors.Describe(e, bucket, prefix.Length == 0 ? null : prefix), Faults.Classify(e)));
        }
        return new FileSet(files, missing);
    }

    /// <summary>The keys that match, level by level.</summary>
    private static async Task<List<string>> MatchAsync(IAmazonS3 s3, string bucket, ExpandedPattern pattern, CancellationToken ct)
    {
        var folders = new List<string> { "" };
        foreach (var segment in pattern.Segments.SkipLast(1))
        {
            if (segment.IsLiteral)
            {
                folders = folders.Select(f => f + segment.LiteralPrefix + "/").ToList();
                continue;
            }
            var next = new List<string>();
            foreach (var folder in folders)
                await foreach (var page in ListAsync(s3, bucket, folder + segment.LiteralPrefix, ct))
                    next.AddRange((page.CommonPrefixes ?? []).Where(p => segment.Matches(p[folder.Length..^1])));
            folders = next;
        }
        var last = pattern.Segments[^1];
        var keys = new List<string>();
        foreach (var folder in folders)
            await foreach (var page in ListAsync(s3, bucket, folder + last.LiteralPrefix, ct))
                keys.AddRange((page.S3Objects ?? []).Select(o => o.Key).Where(k => last.Matches(k[folder.Length..])));
        return keys;
    }

    /// <summary>
    /// An exact key exists when it is the first key listed under itself. A credential allowed to read objects but not
    /// to list them cannot tell; the key is then tried, and a missing one fails when it is read.
    /// </summary>
    private static async Task<bool> KeyExistsAsync(IAmazonS3 s3, string bucket, string key, CancellationToken ct)
    {
        try
        {
            var response = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket, Prefix = key, MaxKeys = 1 }, ct);
            return response.S3Objects is [{ Key: var first }, ..] && first == key;
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "AccessDenied")
        {
            return true;
        }
    }

    private static async IAsyncEnumerable<ListObjectsV2Response> ListAsync(IAmazonS3 s3, string bucket, string prefix,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var request = new ListObjectsV2Request { BucketName = bucket, Prefix = prefix, Delimiter = "/" };
        while (true)
        {
            var page = await s3.ListObjectsV2Async(request, ct);
            yield return page;
            if (page.IsTruncated != true) yield break;
            request.ContinuationToken = page.NextContinuationToken;
        }
    }
}
