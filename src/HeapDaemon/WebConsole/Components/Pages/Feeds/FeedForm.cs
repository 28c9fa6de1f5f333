using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HeapDaemon.Actors.Json;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Management;

namespace HeapDaemon.WebConsole.Components.Pages.Feeds;

/// <summary>The feed editor's form: every field property, and the feed's own settings.</summary>
public sealed class FeedForm
{
    public List<FieldForm> Fields { get; set; } = [];
    public string? LastUpdatedField { get; set; }
    public string? ErrorThresholdPercent { get; set; }
    public string? NewColumns { get; set; }
    public string? DatetimeFormat { get; set; }
    public bool Purge { get; set; }
    public string? Action { get; set; }

    /// <summary>The changes whose migration was shown, so "Save" saves what was reviewed and nothing else.</summary>
    public string? Reviewed { get; set; }

    public static FeedForm Of(FeedDefinition feed) => new()
    {
        Fields = [.. feed.Fields.Select(FieldForm.Of), new FieldForm()],
        LastUpdatedField = feed.LastUpdatedField,
        ErrorThresholdPercent = feed.ErrorThresholdPercent.ToString(System.Globalization.CultureInfo.InvariantCulture),
        NewColumns = feed.NewColumns.ToString().ToLowerInvariant(),
        DatetimeFormat = feed.DatetimeFormat,
    };

    /// <returns>The request, or what in the form is not a value at all (the feed's own rules are the service's).</returns>
    public (FeedRequest? Request, IReadOnlyList<string> Errors) ToRequest(FeedDefinition current)
    {
        var errors = new List<string>();
        decimal? threshold = null;
        if (!string.IsNullOrWhiteSpace(ErrorThresholdPercent))
        {
            if (decimal.TryParse(ErrorThresholdPercent, System.Globalization.NumberStyles.Number, System.Globalization.CultureInfo.InvariantCulture, out var t)) threshold = t;
            else errors.Add($"error threshold '{ErrorThresholdPercent}' is not a number");
        }
        var fields = new List<FeedField>();
        foreach (var (field, i) in Fields.Select((f, i) => (f, i)).Where(f => !f.f.Remove && !string.IsNullOrWhiteSpace(f.f.Name)))
        {
            if (field.ToField() is { } made) fields.Add(made);
            else errors.Add($"field {i + 1} ('{field.Name}'): precision and scale must be whole numbers");
        }
        var policy = Enum.TryParse<NewColumnPolicy>(NewColumns, true, out var p) ? p : NewColumnPolicy.Fail;
        return errors.Count > 0
            ? (null, errors)
            : (new FeedRequest(current.Source, current.Name, [.. fields], current.Id, string.IsNullOrEmpty(LastUpdatedField) ? null : LastUpdatedField,
                threshold, string.IsNullOrWhiteSpace(DatetimeFormat) ? null : DatetimeFormat.Trim(), policy), errors);
    }

    /// <summary>A digest of the changes as requested: what "Review changes" showed must be what "Save" saves.</summary>
    public static string Digest(FeedRequest request) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(request, HeapJson.Options))))[..16];
}

public sealed class FieldForm
{
    public string? Name { get; set; }
    public string? Column { get; set; }
    public string Type { get; set; } = "string";
    public bool PrimaryKey { get; set; }
    public bool Nullable { get; set; }
    public string? Format { get; set; }
    public string? Epoch { get; set; }
    public string? Precision { get; set; }
    public string? Scale { get; set; }
    public string? Tags { get; set; }
    public bool Remove { get; set; }

    public static FieldForm Of(FeedField f) => new()
    {
        Name = f.Name,
        Column = f.Column,
        Type = f.Type.ToString().ToLowerInvariant(),
        PrimaryKey = f.PrimaryKey,
        Nullable = f.Nullable,
        Format = f.Format,
        Epoch = f.Epoch?.ToString().ToLowerInvariant(),
        Precision = f.Precision?.ToString(),
        Scale = f.Scale?.ToString(),
        Tags = string.Join(", ", f.Tags ?? []),
    };

    /// <returns>Null for the empty row that adds a field, or precision and scale that are not numbers.</returns>
    public FeedField? ToField()
    {
        if (string.IsNullOrWhiteSpace(Name)) return null;
        int? precision = null, scale = null;
        if (!string.IsNullOrWhiteSpace(Precision)) { if (int.TryParse(Precision, out var p)) precision = p; else return null; }
        if (!string.IsNullOrWhiteSpace(Scale)) { if (int.TryParse(Scale, out var s)) scale = s; else return null; }
        var type = Enum.TryParse<FieldType>(Type, true, out var t) ? t : FieldType.String;
        EpochUnit? epoch = Enum.TryParse<EpochUnit>(Epoch, true, out var e) ? e : null;
        var tags = (Tags ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(x => x.ToLowerInvariant()).Distinct().ToList();
        return new FeedField(Name!.Trim(), type, PrimaryKey, Nullable, string.IsNullOrWhiteSpace(Column) || Column.Trim() == Name.Trim() ? null : Column.Trim(),
            type == FieldType.Decimal ? precision : null, type == FieldType.Decimal ? scale : null,
            string.IsNullOrWhiteSpace(Format) ? null : Format.Trim(), tags, type == FieldType.Datetime ? epoch : null);
    }
}
