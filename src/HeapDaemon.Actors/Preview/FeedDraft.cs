using System.Collections.Immutable;
using System.Text;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Ids;

namespace HeapDaemon.Actors.Preview;

/// <param name="Notes">What was guessed and should be checked before the feed is saved.</param>
public sealed record FeedDraftView(FeedDefinition Feed, FileSettings Settings, IReadOnlyList<string> Notes, IReadOnlyList<string> Problems);

/// <summary>
/// A feed drafted from a preview, not saved: a field per column with its inferred type, column names made valid
/// identifiers, and a primary key (given, or guessed and said so).
/// </summary>
public static class FeedDraft
{
    private static readonly string[] LastUpdatedNames = ["updated_at", "last_updated", "last_modified", "modified_at", "updated", "modified"];

    public static FeedDraftView Build(FilePreview preview, string source, string name, IReadOnlyList<string>? primaryKey, string? lastUpdatedField)
    {
        var notes = new List<string>();
        var columns = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var keys = primaryKey?.ToHashSet(StringComparer.OrdinalIgnoreCase) ?? GuessKey(preview, notes);
        var fields = preview.Columns.Select(c =>
        {
            var column = UniqueColumn(c.Name, columns);
            if (column != c.Name) notes.Add($"column '{c.Name}' is stored as '{column}'");
            return new FeedField(c.Name, c.Type, PrimaryKey: keys.Contains(c.Name), Column: column == c.Name ? null : column,
                Precision: c.Precision, Scale: c.Scale);
        }).ToImmutableArray();
        if (lastUpdatedField is null)
        {
            lastUpdatedField = preview.Columns.FirstOrDefault(c => c.Type == FieldType.Datetime && LastUpdatedNames.Contains(c.Name, StringComparer.OrdinalIgnoreCase))?.Name;
            if (lastUpdatedField is not null) notes.Add($"last-updated field '{lastUpdatedField}' was guessed from its name and type; without one, loads are ordered by file and line");
        }
        var feed = new FeedDefinition(FeedDefinition.DefaultId(source, name), source, name, fields, lastUpdatedField);
        var missing = primaryKey?.Where(k => !preview.Columns.Any(c => string.Equals(c.Name, k, StringComparison.OrdinalIgnoreCase))).ToList() ?? [];
        return new FeedDraftView(feed, preview.Settings, notes, [.. missing.Select(k => $"primary key '{k}' is not a column of the file"), .. feed.Validate()]);
    }

    /// <summary>A column named id or *_id whose sample values are present and distinct; else the first such column.</summary>
    private static HashSet<string> GuessKey(FilePreview preview, List<string> notes)
    {
        var candidates = preview.Columns.Select((c, i) => (c.Name, i))
            .Where(c => preview.Rows.Count > 0 && preview.Rows.All(r => !string.IsNullOrEmpty(r[c.i])) && preview.Rows.Select(r => r[c.i]).Distinct().Count() == preview.Rows.Count)
            .ToList();
        var chosen = candidates.Where(c => c.Name.Equals("id", StringComparison.OrdinalIgnoreCase) || c.Name.EndsWith("_id", StringComparison.OrdinalIgnoreCase))
            .Select(c => c.Name).FirstOrDefault() ?? candidates.Select(c => c.Name).FirstOrDefault();
        if (chosen is null)
        {
            notes.Add("no column has distinct values in the sample; choose the primary key");
            return [];
        }
        notes.Add($"primary key '{chosen}' was guessed: its values in the sample are present and distinct");
        return new HashSet<string>([chosen], StringComparer.OrdinalIgnoreCase);
    }

    /// <summary>Lowercase letters, digits and underscores, starting with a letter, at most 63 characters, not taken yet.</summary>
    private static string UniqueColumn(string name, HashSet<string> taken)
    {
        var candidate = Identifiers.IsColumnName(name) && name == name.ToLowerInvariant() ? name : Sanitize(name);
        var unique = candidate;
        for (var n = 2; !taken.Add(unique); n++) unique = $"{candidate[..Math.Min(candidate.Length, 58)]}_{n}";
        return unique;
    }

    private static string Sanitize(string name)
    {
        var text = new StringBuilder();
        foreach (var c in name.Trim().ToLowerInvariant())
            text.Append(c is >= 'a' and <= 'z' or >= '0' and <= '9' ? c : '_');
        var result = text.ToString().Trim('_');
        while (result.Contains("__", StringComparison.Ordinal)) result = result.Replace("__", "_");
        if (result.Length == 0 || !char.IsAsciiLetter(result[0])) result = "c_" + result;
        return result[..Math.Min(result.Length, 63)];
    }
}
