using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;

namespace HeapDaemon.Actors.Preview;

/// <param name="Mismatch">What a run would fail with on this file's columns (the run's own check); null when they fit.</param>
/// <param name="TypeNotes">Columns whose sample looks like another type than the feed's: they may load, or be rejected row by row.</param>
public sealed record FeedFit(string? Mismatch, IReadOnlyList<string> TypeNotes)
{
    public bool Fits => Mismatch is null;

    /// <summary>Amperity's "use an existing feed": the file must match the feed. Judged by the same check a run makes on the header.</summary>
    public static FeedFit Of(FeedDefinition feed, FilePreview preview)
    {
        var names = preview.Columns.Select(c => c.Name).ToArray();
        string? mismatch = null;
        try
        {
            if (!preview.Settings.IsDelimited || preview.Settings.HasHeader)
                RowValidator.ForNames(feed, names, allowMissing: preview.Settings.Format is FileFormat.Json or FileFormat.Ndjson);
            else if (names.Length != feed.Fields.Length)
                mismatch = $"the file has {names.Length} columns and no header; feed '{feed.Id}' has {feed.Fields.Length} fields";
        }
        catch (SchemaMismatchException e)
        {
            mismatch = e.Message;
        }
        var notes = new List<string>();
        foreach (var column in preview.Columns)
        {
            var field = feed.Fields.FirstOrDefault(f => string.Equals(f.Name, column.Name, StringComparison.OrdinalIgnoreCase));
            // A String field holds anything; other types the sample does not look like may reject rows.
            if (field is not null && field.Type != FieldType.String && field.Type != column.Type && column.Type != FieldType.String)
                notes.Add($"'{column.Name}' looks like {column.Type} in the file; the feed says {field.Type}");
            else if (field is not null && field.Type != FieldType.String && column.Type == FieldType.String)
                notes.Add($"'{column.Name}' holds text in the sample; the feed says {field.Type}, so rows that are not {field.Type} will be rejected");
        }
        return new FeedFit(mismatch, notes);
    }
}
