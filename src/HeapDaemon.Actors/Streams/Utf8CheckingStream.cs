using System.Text;

namespace HeapDaemon.Actors.Streams;

/// <summary>
/// Passes bytes through while checking that they are UTF-8, so invalid bytes fail the file with their exact place
/// (byte offset and line) instead of the parser's approximate one. A UTF-16 byte order mark turns the check off.
/// </summary>
public sealed class Utf8CheckingStream(Stream inner) : ForwardOnlyStream
{
    private readonly Decoder _decoder = new UTF8Encoding(false, throwOnInvalidBytes: true).GetDecoder();
    private readonly char[] _scratch = new char[8192];
    private long _offset;
    private long _line = 1;
    private bool? _utf16;

    public override int Read(Span<byte> buffer) => Check(buffer[..inner.Read(buffer)]);

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var read = await inner.ReadAsync(buffer, cancellationToken);
        return Check(buffer.Span[..read]);
    }

    private int Check(ReadOnlySpan<byte> bytes)
    {
        _utf16 ??= bytes is [0xFF, 0xFE, ..] or [0xFE, 0xFF, ..];
        if (_utf16 == true) return bytes.Length;
        // Convert, unlike GetCharCount, keeps a sequence split between two reads in the decoder's state.
        var checkedBytes = 0;
        try
        {
            do
            {
                _decoder.Convert(bytes[checkedBytes..], _scratch, flush: bytes.IsEmpty, out var used, out _, out _);
                checkedBytes += used;
            } while (checkedBytes < bytes.Length);
        }
        catch (DecoderFallbackException e)
        {
            // The index can point into bytes carried over from the previous read (a split sequence): clamp to this read.
            var at = Math.Clamp(checkedBytes + e.Index, 0, bytes.Length);
            throw new UnreadableFileException($"line {_line + bytes[..at].Count((byte)'\n')}: bytes that are not valid UTF-8 at byte offset {_offset + at}", e);
        }
        _line += bytes.Count((byte)'\n');
        _offset += bytes.Length;
        return bytes.Length;
    }
}
