using System.Buffers;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Streams;

namespace HeapDaemon.Actors.Storage;

/// <summary>
/// The body of one S3 object version, read forward only, that survives a broken connection: a read that fails with
/// a transient fault (a reset, a stall longer than the stall timeout) reopens the object at the byte it had reached,
/// with a ranged GET pinned to the same ETag, up to <c>maxResumes</c> times in a row. It sits beneath every
/// unwrapper and parser, so every format resumes; a changed object fails with PreconditionFailed instead of mixing
/// two versions.
/// </summary>
public sealed class ResumableObjectStream(IAmazonS3 s3, GetObjectRequest request, GetObjectResponse first, TimeSpan stallTimeout, int maxResumes)
    : ForwardOnlyStream
{
    private GetObjectResponse _response = first;
    private long _position;
    private int _failuresInARow;

    public long BytesRead => Interlocked.Read(ref _position);

    /// <summary>How often the object was reopened after a broken read.</summary>
    public int Resumes { get; private set; }

    public override long Position { get => BytesRead; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            using var stall = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            stall.CancelAfter(stallTimeout);
            Exception failure;
            try
            {
                return Advance(await _response.ResponseStream.ReadAsync(buffer, stall.Token));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                failure = new IOException($"the object stalled: no data for {stallTimeout.TotalSeconds:0.#} s after {BytesRead} bytes");
            }
            catch (Exception e) when (Faults.IsTransient(e) && !cancellationToken.IsCancellationRequested)
            {
                failure = e;
            }
            await ReopenAsync(failure, cancellationToken);
        }
    }

    /// <summary>Synchronous readers (BouncyCastle, SharpZipLib) run on a dedicated thread, so blocking here blocks only it.</summary>
    public override int Read(Span<byte> buffer)
    {
        var bytes = ArrayPool<byte>.Shared.Rent(buffer.Length);
        try
        {
            var read = ReadAsync(bytes.AsMemory(0, buffer.Length)).AsTask().GetAwaiter().GetResult();
            bytes.AsSpan(0, read).CopyTo(buffer);
            return read;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    private int Advance(int read)
    {
        Interlocked.Add(ref _position, read);
        if (read > 0) _failuresInARow = 0;
        return read;
    }

    private async Task ReopenAsync(Exception failure, CancellationToken ct)
    {
        if (++_failuresInARow > maxResumes) throw failure is IOException ? failure : new IOException(failure.Message, failure);
        _response.Dispose();
        var etag = _response.ETag;
        var resumed = new GetObjectRequest
        {
            BucketName = request.BucketName,
            Key = request.Key,
            VersionId = request.VersionId,
            EtagToMatch = etag,
            ByteRange = new ByteRange($"bytes={BytesRead}-"),
        };
        try
        {
            _response = await s3.GetObjectAsync(resumed, ct);
            Resumes++;
        }
        catch (AmazonServiceException e) when (Faults.IsTransient(e))
        {
            // Keep the failed response's ETag for the next try; the next read fails at once and tries again.
            _response = new GetObjectResponse { ETag = etag, ResponseStream = new BrokenStream(e) };
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _response.Dispose();
        base.Dispose(disposing);
    }

    /// <summary>A body that could not be reopened: reading it reports why, so the resume loop counts the failure.</summary>
    private sealed class BrokenStream(Exception cause) : MemoryStream
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            ValueTask.FromException<int>(new IOException(cause.Message, cause));
    }
}
