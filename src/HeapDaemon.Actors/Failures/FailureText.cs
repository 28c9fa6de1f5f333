using System.Text.RegularExpressions;

namespace HeapDaemon.Actors.Failures;

/// <summary>
/// An exception's cause as a sentence a user can read in a run's or file's message: its message's first line, without
/// what a library pasted into it (another exception's text with its type and stack, as Apache.Avro
/// does). A message that still names .NET types says nothing to a user: it becomes "an unexpected error", and the
/// exception itself goes to the log only.
/// </summary>
public static partial class FailureText
{
    public const string Unexpected = "an unexpected error; the daemon's log has the details";

    public static string Of(Exception e)
    {
        while (e is AggregateException { InnerExceptions: [var only] }) e = only;
        var message = e.Message;
        // "Error fetching next object from block: Avro.AvroException: End of stream reached\n   at …": the pasted exception's own message.
        if (Pasted().Match(message) is { Success: true } pasted) message = pasted.Groups["message"].Value;
        message = message.Split('\n')[0].Trim();
        return message.Length == 0 || TypeName().IsMatch(message) ? Unexpected : message;
    }

    [GeneratedRegex(@"(?:[A-Z][A-Za-z0-9]*\.)+[A-Z][A-Za-z]*Exception: (?<message>[^\r\n]*)")]
    private static partial Regex Pasted();

    [GeneratedRegex(@"\b(HeapDaemon|System|Microsoft|Npgsql|Akka|Amazon|Avro|Org\.BouncyCastle|ICSharpCode|Parquet|CsvHelper)\.[A-Z]|\w+Exception\b|\bat [\w.]+\(")]
    private static partial Regex TypeName();
}
