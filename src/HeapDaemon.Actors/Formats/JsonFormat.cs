using System.Buffers;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Streams;

namespace HeapDaemon.Actors.Formats;

/// <summary>
/// NDJSON (one object per line) and a JSON array of flat objects, both streamed: one line or one element in memory
/// at a time. Values keep their JSON types; a line that is not a JSON object is a reject, a file that is not JSON
/// at all fails.
/// </summary>
public static class JsonFormat
{
    /// <summary>A line longer than this is taken as a file that is not NDJSON, rather than read into memory whole.</summary>
    public const int MaxLineBytes = 16 << 20;

    /// <summary>Records numbered by line (1-based); blank lines are skipped, the last line may lack its newline.</summary>
    public static async IAsyncEnumerable<SourceRecord> ReadLinesAsync(Stream stream, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var reader = PipeReader.Create(stream, new StreamPipeReaderOptions(bufferSize: 1 << 16, leaveOpen: true));
        var names = new NameCache();
        long line = 0;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(ct);
                var buffer = result.Buffer;
                while (TryReadLine(ref buffer, result.IsCompleted, out var bytes))
                {
                    line++;
                    if (Parse(bytes, line, names) is { } record) yield return record;
                }
                if (result.IsCompleted) break;
                if (buffer.Length > MaxLineBytes) throw new UnreadableFileException($"line {line + 1} is longer than {MaxLineBytes >> 20} MiB; is this NDJSON?");
                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>Records numbered by their place in the array (1-based).</summary>
    public static async IAsyncEnumerable<SourceRecord> ReadArrayAsync(Stream stream, [EnumeratorCancellation] CancellationToken ct = default)
    {
        var names = new NameCache();
        long record = 0;
        await using var elements = JsonSerializer.DeserializeAsyncEnumerable<JsonElement>(stream, JsonSerializerOptions.Default, ct).GetAsyncEnumerator(ct);
        while (true)
        {
            try
            {
                if (!await elements.MoveNextAsync()) break;
            }
            catch (JsonException e)
            {
                throw new UnreadableFileException(e.Path == "$" && record == 0
                    ? $"it is not a JSON array of objects ({FirstSentence(e.Message)})"
                    : $"malformed JSON at line {e.LineNumber + 1}, byte {e.BytePositionInLine + 1}: {FirstSentence(e.Message)}", e);
            }
            record++;
            yield return Record(elements.Current, record, elements.Current.GetRawText(), names);
        }
    }

    /// <returns>null for a blank line.</returns>
    private static SourceRecord? Parse(byte[] line, long number, NameCache names)
    {
        var bytes = line.AsSpan();
        if (number == 1 && bytes.StartsWith(Encoding.UTF8.Preamble)) bytes = bytes[3..];
        if (!Utf8.IsValid(bytes)) throw new UnreadableFileException($"line {number} is not valid UTF-8");
        bytes = bytes.TrimEnd("\r"u8);
        if (bytes.Trim(" \t"u8).IsEmpty) return null;
        var raw = Encoding.UTF8.GetString(bytes);
        try
        {
            using var document = JsonDocument.Parse(raw);
            return Record(document.RootElement, number, raw, names);
        }
        catch (JsonException e)
        {
            return new SourceRecord(number, [], raw) { Problem = $"malformed JSON: {FirstSentence(e.Message)}" };
        }
    }

    private static SourceRecord Record(JsonElement element, long number, string raw, NameCache names)
    {
        if (element.ValueKind != JsonValueKind.Object)
            return new SourceRecord(number, [], raw) { Problem = $"a JSON {element.ValueKind.ToString().ToLowerInvariant()}, not an object" };
        var keys = new List<string>();
        var values = new List<object?>();
        foreach (var property in element.EnumerateObject())
        {
            keys.Add(property.Name);
            values.Add(Value(property.Value));
        }
        return new SourceRecord(number, values.ToArray(), raw) { Names = names.Get(keys) };
    }

    /// <summary>A JSON value as the CLR value closest to it: whole numbers as long, others as decimal (double beyond decimal's range).</summary>
    public static object? Value(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number when value.TryGetInt64(out var l) => l,
        JsonValueKind.Number when value.TryGetDecimal(out var d) => d,
        JsonValueKind.Number => value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null or JsonValueKind.Undefined => null,
        _ => new NestedValue(value.ValueKind.ToString().ToLowerInvariant(), value.GetRawText()),
    };

    private static bool TryReadLine(ref ReadOnlySequence<byte> buffer, bool final, out byte[] line)
    {
        var newline = buffer.PositionOf((byte)'\n');
        if (newline is { } at)
        {
            line = buffer.Slice(0, at).ToArray();
            buffer = buffer.Slice(buffer.GetPosition(1, at));
            return true;
        }
        if (final && !buffer.IsEmpty)
        {
            line = buffer.ToArray();
            buffer = buffer.Slice(buffer.End);
            return true;
        }
        line = [];
        return false;
    }

    private static string FirstSentence(string message) => message.Split(". ")[0].TrimEnd('.');

    /// <summary>Hands back the same names array while records keep the same keys, so validators are built once.</summary>
    private sealed class NameCache
    {
        private string[] _last = [];

        public string[] Get(List<string> keys)
        {
            if (keys.Count != _last.Length || !keys.SequenceEqual(_last, StringComparer.Ordinal)) _last = keys.ToArray();
            return _last;
        }
    }
}
