namespace HeapDaemon.Actors.Streams;

/// <summary>A forward-only stream whose first bytes can be looked at (magic numbers) before anyone reads them.</summary>
public sealed class PeekStream(Stream inner) : ForwardOnlyStream
{
    private byte[] _head = [];
    private int _position;

    /// <summary>Up to <paramref name="count"/> bytes from the start; fewer only when the stream is shorter.</summary>
    public async Task<ReadOnlyMemory<byte>> PeekAsync(int count, CancellationToken ct)
    {
        if (_head.Length < count && _position == 0)
        {
            var head = new byte[count];
            _head.CopyTo(head, 0);
            var filled = _head.Length;
            int read;
            while (filled < count && (read = await inner.ReadAsync(head.AsMemory(filled), ct)) > 0) filled += read;
            _head = head[..filled];
        }
        return _head.AsMemory(0, Math.Min(count, _head.Length));
    }

    public override int Read(Span<byte> buffer)
    {
        if (_position < _head.Length) return FromHead(buffer);
        return inner.Read(buffer);
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position < _head.Length) return FromHead(buffer.Span);
        return await inner.ReadAsync(buffer, cancellationToken);
    }

    private int FromHead(Span<byte> buffer)
    {
        var n = Math.Min(buffer.Length, _head.Length - _position);
        _head.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) inner.Dispose();
        base.Dispose(disposing);
    }
}
