using System.Collections.Immutable;
using System.Text.Json.Serialization;
using HeapDaemon.Actors.Ids;

namespace HeapDaemon.Actors.Feeds;

public enum FieldType { Boolean, Integer, Decimal, Float, Date, Datetime, String }

/// <summary>What a file's columns that the feed does not know do to a load.</summary>
public enum NewColumnPolicy
{
    /// <summary>The file fails, naming the columns.</summary>
    Fail,
    /// <summary>They are left out.</summary>
    Ignore,
    /// <summary>They become nullable String fields of the feed and columns of its domain table.</summary>
    Add,
}

/// <param name="Name">The incoming name, as the file's header spells it.</param>
/// <param name="Column">The domain-table column; defaults to <paramref name="Name"/>.</param>
/// <param name="Format">For Date and Datetime: the pattern values are written in (Joda style, as Amperity's).</param>
/// <param name="Tags">Semantic tags; null asks for suggestions from the field's name when the feed is saved.</param>

/// <summary>The unit of a Datetime written as a number since 1970-01-01T00:00:00Z (Unix time).</summary>
public enum EpochUnit { Seconds, Milliseconds, Microseconds }

/// <param name="Epoch">For a Datetime written as a number: its Unix-time unit. Without it a number is not a Datetime.</param>
public sealed record FeedField(
    string Name,
    FieldType Type,
    bool PrimaryKey = false,
    bool Nullable = true,
    string? Column = null,
    int? Precision = null,
    int? Scale = null,
    string? Format = null,
    IReadOnlyList<string>? Tags = null,
    EpochUnit? Epoch = null)
{
    [JsonIgnore] public string ColumnName => Column ?? Name;
}

/// <summary>The schema of a file and the domain table <c>&lt;source&gt;.&lt;name&gt;</c> it loads into.</summary>
/// <param name="Source">A name, in any case; kept in lowercase (<see cref="Identifiers.Canonical"/>).</param>
/// <param name="Name">A name, in any case; kept in lowercase.</param>
public sealed record FeedDefinition(
    string Id,
    string Source,
    string Name,
    ImmutableArray<FeedField> Fields,
    string? LastUpdatedField = null,
    decimal ErrorThresholdPercent = 1m,
    string? DatetimeFormat = null,
    NewColumnPolicy NewColumns = NewColumnPolicy.Fail)
{
    public string Source { get; init; } = Identifiers.Canonical(Source);

    public string Name { get; init; } = Identifiers.Canonical(Name);

    [JsonIgnore] public DomainTableName Table => new(Source, Name);

    /// <summary>The id of a feed given none: its source and name as they are kept, e.g. <c>edge-csv_rfc4180</c>.</summary>
    public static string DefaultId(string source, string name) => $"{Identifiers.Canonical(source)}-{Identifiers.Canonical(name)}";

    [JsonIgnore] public IEnumerable<FeedField> KeyFields => Fields.Where(f => f.PrimaryKey);

    [JsonIgnore] public FeedField? LastUpdated => LastUpdatedField is null ? null : Fields.First(f => f.Name == LastUpdatedField);

    /// <summary>Every problem with the definition, so a user can fix them all in one go.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Identifiers.IsId(Id)) errors.Add($"id '{Id}' must be {Identifiers.IdRule}");
        if (!Identifiers.IsSchemaOrTableName(Source)) errors.Add($"source '{Source}' must be a name: {Identifiers.NameRule}");
        else if (Identifiers.IsReservedSchema(Source)) errors.Add($"source '{Source}' is reserved");
        if (!Identifiers.IsSchemaOrTableName(Name)) errors.Add($"feed name '{Name}' must be a name: {Identifiers.NameRule}");
        if (Fields.IsDefaultOrEmpty) { errors.Add("a feed needs at least one field"); return errors; }

        foreach (var field in Fields)
        {
            if (string.IsNullOrWhiteSpace(field.Name)) errors.Add("a field has an empty incoming name");
            if (!Identifiers.IsColumnName(field.ColumnName))
                errors.Add($"column name '{field.ColumnName}' must be letters, digits and underscores, not starting with '_' or a digit, at most 63 characters; rename it with 'column'");
            if (field.Type == FieldType.Decimal && (field.Precision is < 1 or > 38 || field.Scale is < 0 || field.Scale > (field.Precision ?? 38)))
                errors.Add($"field '{field.Name}': decimal precision must be 1-38 and scale 0-precision");
            if (field.Format is not null && field.Type is not (FieldType.Date or FieldType.Datetime))
                errors.Add($"field '{field.Name}': a format is only for Date and Datetime fields");
            else if (field.Format is not null && DateFormats.Translate(field.Format) is { Error: { } formatError })
                errors.Add($"field '{field.Name}': {formatError}");
            if (field.Epoch is not null && field.Type != FieldType.Datetime)
                errors.Add($"field '{field.Name}': epoch applies only to Datetime fields");
        }
        foreach (var dup in Fields.GroupBy(f => f.ColumnName, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            errors.Add($"column '{dup.Key}' appears {dup.Count()} times");
        foreach (var dup in Fields.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).Where(g => g.Count() > 1))
            errors.Add($"incoming field '{dup.Key}' appears {dup.Count()} times");
        if (!Fields.Any(f => f.PrimaryKey)) errors.Add("a feed needs at least one primary-key field");
        if (LastUpdatedField is not null)
        {
            var lastUpdated = Fields.FirstOrDefault(f => f.Name == LastUpdatedField);
            if (lastUpdated is null) errors.Add($"last-updated field '{LastUpdatedField}' is not a field of the feed");
            else if (lastUpdated.Type is not (FieldType.Datetime or FieldType.Integer))
                errors.Add($"last-updated field '{LastUpdatedField}' must be a Datetime or an Integer, not {lastUpdated.Type}");
        }
        errors.AddRange(PostgresLimits.Problems(this));
        if (ErrorThresholdPercent is < 0 or > 100) errors.Add("errorThresholdPercent must be between 0 and 100");
        if (DatetimeFormat is not null && DateFormats.Translate(DatetimeFormat) is { Error: { } feedFormatError })
            errors.Add($"datetimeFormat: {feedFormatError}");
        errors.AddRange(SemanticTags.Validate(this));
        return errors;
    }
}

/// <summary>A domain table's place in PostgreSQL: schema = source, table = feed name; shown as <c>Source:Feed</c>.</summary>
public readonly record struct DomainTableName(string Schema, string Table)
{
    public string Qualified => $"{Identifiers.Quote(Schema)}.{Identifiers.Quote(Table)}";

    public string DisplayName => $"{Capitalize(Schema)}:{Capitalize(Table)}";

    private static string Capitalize(string name) =>
        string.Join('_', name.Split('_').Select(part => part.Length == 0 ? part : char.ToUpperInvariant(part[0]) + part[1..]));

    public override string ToString() => $"{Schema}.{Table}";
}
