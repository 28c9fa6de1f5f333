using Amazon.S3;
using Amazon.S3.Model;

namespace HeapDaemon.Actors.Storage;

/// <summary>
/// A seekable, read-only view of one S3 object version that reads by ranged GETs, a chunk at a time: for formats
/// that seek (a Parquet footer, then the start of each column), only the parts read are downloaded.
/// </summary>
/// <param name="blockingReads">Cancels synchronous reads, which take no token of their own.</param>
public sealed class S3RangeStream(IAmazonS3 s3, string bucket, string key, string etag, long length, CancellationToken blockingReads, int chunkSize = 1 << 20) : Stream
{
    private byte[] _chunk = [];
    private long _chunkStart = -1;
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
        if (!Holds(_position))
        {
            _chunk = await FetchAsync(_position, Math.Max(chunkSize, buffer.Length), cancellationToken);
            _chunkStart = _position;
        }
        return Copy(buffer.Span);
    }

    /// <summary>
    /// Blocks on the download: only for readers on a thread of their own (Arrow's Parquet reader, which reads
    /// synchronously, runs on one), never on the thread pool.
    /// </summary>
    public override int Read(Span<byte> buffer)
    {
        if (_position >= length || buffer.IsEmpty) return 0;
        if (!Holds(_position))
        {
            _chunk = FetchAsync(_position, Math.Max(chunkSize, buffer.Length), blockingReads).GetAwaiter().GetResult();
            _chunkStart = _position;
        }
        return Copy(buffer);
    }

    private bool Holds(long position) => _chunkStart >= 0 && position >= _chunkStart && position < _chunkStart + _chunk.Length;

    private int Copy(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, _chunkStart + _chunk.Length - _position);
        _chunk.AsSpan((int)(_position - _chunkStart), n).CopyTo(buffer);
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
