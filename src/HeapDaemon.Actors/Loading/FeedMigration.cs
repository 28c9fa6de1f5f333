using HeapDaemon.Actors.Feeds;

namespace HeapDaemon.Actors.Loading;

/// <summary>A column an edit adds to an active feed's table.</summary>
public sealed record AddedColumn(string Field, string Column, string SqlType);

/// <summary>
/// What saving an edited feed does to its domain table, known before it is saved: the rules of editing an active feed
/// in one place, so the feed catalog applies exactly what the console shows. An inactive feed has no table yet: its
/// edit changes only the definition.
/// </summary>
/// <param name="Refusals">Why the edit cannot be saved as it is; empty when it can.</param>
/// <param name="Added">New columns (new fields, or fields given a new column name).</param>
/// <param name="Kept">Columns whose fields were removed or renamed: they stay, with their data, and are no longer loaded.</param>
/// <param name="OldKey">The key columns before; with <paramref name="NewKey"/> different, the rows loaded so far are deleted (purge).</param>
public sealed record FeedMigration(
    bool Active,
    IReadOnlyList<string> Refusals,
    IReadOnlyList<AddedColumn> Added,
    IReadOnlyList<string> Kept,
    IReadOnlyList<string> OldKey,
    IReadOnlyList<string> NewKey)
{
    public bool KeyChanged => !OldKey.SequenceEqual(NewKey);

    /// <summary>Saving it deletes the rows loaded so far and the feed's ledger rows, so the next run reloads every file.</summary>
    public bool Purges => Active && KeyChanged;

    public bool ChangesTable => Active && (Added.Count > 0 || Purges);

    /// <param name="purge">The user agreed to delete the rows loaded so far, which a new key needs.</param>
    public static FeedMigration Plan(FeedRecord current, FeedDefinition edited, bool purge)
    {
        var before = current.Definition;
        var oldKey = before.KeyFields.Select(f => f.ColumnName).ToList();
        var newKey = edited.KeyFields.Select(f => f.ColumnName).ToList();
        if (!current.Active) return new FeedMigration(false, [], [], [], oldKey, newKey);

        var refusals = new List<string>();
        if (before.Table != edited.Table)
            refusals.Add($"feed '{edited.Id}' is active: its source and name (domain table {before.Table.DisplayName}) cannot change");
        var removedKeys = before.KeyFields.Where(k => edited.Fields.All(f => f.Name != k.Name)).Select(k => k.Name).ToList();
        if (removedKeys.Count > 0)
            refusals.Add($"feed '{edited.Id}' is active: key field(s) {string.Join(", ", removedKeys)} cannot be removed; change the key first (with purge)");
        else if (!oldKey.SequenceEqual(newKey) && !purge)
            refusals.Add($"feed '{edited.Id}' is active: changing its primary key from ({string.Join(", ", oldKey)}) to " +
                         $"({string.Join(", ", newKey)}) deletes the rows loaded so far; repeat with ?purge=true to do that");

        var columns = before.Fields.ToDictionary(f => f.ColumnName, f => DomainTableSchema.SqlType(f), StringComparer.Ordinal);
        var added = new List<AddedColumn>();
        foreach (var field in edited.Fields)
        {
            var type = DomainTableSchema.SqlType(field);
            if (!columns.TryGetValue(field.ColumnName, out var existing)) added.Add(new AddedColumn(field.Name, field.ColumnName, type));
            // Converting stored data in place is the user's decision, never the daemon's.
            else if (existing != type) refusals.Add($"column '{field.ColumnName}' is {existing} in {before.Table}, the feed says {type}");
        }
        var kept = columns.Keys.Where(c => edited.Fields.All(f => f.ColumnName != c)).ToList();
        return new FeedMigration(true, refusals, added, kept, oldKey, newKey);
    }
}
