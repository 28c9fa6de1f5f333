using Amazon.S3;
using Amazon.S3.Model;

namespace HeapDaemon.Actors.Storage;

/// <summary>
/// A seekable, read-only view of one S3 object version that reads by ranged GETs, a chunk at a time: for formats
/// that seek (a Parquet footer, then one row group), only the parts read are downloaded.
/// </summary>
public sealed class S3RangeStream(IAmazonS3 s3, string bucket, string key, string etag, long length, int chunkSize = 1 << 20) : Stream
{
    private byte[] _chunk = [];
    private long _chunkStart = -1;
    private byte[] _pinned = [];
    private long _pinnedStart = -1;
    private long _position;

    /// <summary>Bytes downloaded so far, to show how little a preview read.</summary>
    public long BytesFetched { get; private set; }

    public override bool CanRead => true;
    public override bool CanSeek => true;
    public override bool CanWrite => false;
    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value is >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
    {
        SeekOrigin.Begin => offset,
        SeekOrigin.Current => _position + offset,
        _ => length + offset,
    };

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= length || buffer.IsEmpty) return 0;
        if (!Holds(_pinnedStart, _pinned) && !Holds(_chunkStart, _chunk))
        {
            _chunk = await FetchAsync(_position, Math.Max(chunkSize, buffer.Length), cancellationToken);
            _chunkStart = _position;
        }
        return Copy(buffer.Span);
    }

    /// <summary>
    /// Downloads a range (a Parquet row group) ahead, asynchronously, so that a reader that then reads it
    /// synchronously, as Arrow's Parquet reader does, is served from memory and never blocks on the network.
    /// </summary>
    public async Task PrefetchAsync(long start, long count, CancellationToken ct)
    {
        _pinned = await FetchAsync(start, (int)Math.Min(count, int.MaxValue), ct);
        _pinnedStart = start;
    }

    /// <summary>Only from what was fetched: a synchronous read must not block on the network.</summary>
    public override int Read(Span<byte> buffer)
    {
        if (_position >= length || buffer.IsEmpty) return 0;
        if (!Holds(_pinnedStart, _pinned) && !Holds(_chunkStart, _chunk))
            throw new NotSupportedException($"synchronous read at {_position} outside the prefetched range; prefetch it first");
        return Copy(buffer);
    }

    private bool Holds(long start, byte[] bytes) => start >= 0 && _position >= start && _position < start + bytes.Length;

    private int Copy(Span<byte> buffer)
    {
        var (start, bytes) = Holds(_pinnedStart, _pinned) ? (_pinnedStart, _pinned) : (_chunkStart, _chunk);
        var n = (int)Math.Min(buffer.Length, start + bytes.Length - _position);
        bytes.AsSpan((int)(_position - start), n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    private async Task<byte[]> FetchAsync(long start, int size, CancellationToken ct)
    {
        var end = Math.Min(length, start + size) - 1;
        // The ETag pins the version: if the object is replaced mid-read, S3 answers PreconditionFailed.
        using var response = await s3.GetObjectAsync(new GetObjectRequest
        {
            BucketName = bucket, Key = key, ByteRange = new ByteRange(start, end), EtagToMatch = etag,
        }, ct);
        var chunk = new byte[end - start + 1];
        await response.ResponseStream.ReadExactlyAsync(chunk, ct);
        BytesFetched += chunk.Length;
        return chunk;
    }

    public override void Flush() { }
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
