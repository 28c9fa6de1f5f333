using System.Text.RegularExpressions;

namespace HeapDaemon.Actors.Feeds;

/// <summary>
/// Amperity's semantic tags: profile (PII) tags, keys (<c>pk</c>, <c>fk-&lt;namespace&gt;</c>, <c>ck</c>) and custom
/// tags. Suggested from field names when a feed is created without tags, and checked against the field they mark.
/// </summary>
public static partial class SemanticTags
{
    private static readonly FieldType[] Text = [FieldType.String];
    private static readonly FieldType[] Moment = [FieldType.Date, FieldType.Datetime, FieldType.Integer];

    /// <summary>
    /// Profile tags with the field types Stitch can read them from. Text tags need a String (a postal code or a phone
    /// number read as a number loses its leading zeros and its plus). A birthdate is a Date, or a String Stitch reads as a
    /// date itself (so a row with a malformed birthdate is still loaded, and compared by its digits).
    /// </summary>
    private static readonly Dictionary<string, FieldType[]> Profile = new(StringComparer.Ordinal)
    {
        ["address"] = Text, ["address2"] = Text, ["birthdate"] = [FieldType.Date, FieldType.String], ["city"] = Text, ["company"] = Text,
        ["country"] = Text, ["create-dt"] = Moment, ["email"] = Text, ["full-name"] = Text, ["gender"] = Text,
        ["generational-suffix"] = Text, ["given-name"] = Text, ["phone"] = Text, ["postal"] = Text,
        ["state"] = Text, ["surname"] = Text, ["title"] = Text, ["update-dt"] = Moment,
    };

    /// <summary>Customer and foreign keys are compared as text; a number is a key too, a date or a fraction is not.</summary>
    private static readonly FieldType[] Key = [FieldType.String, FieldType.Integer];

    /// <summary>Tags a feed may carry once only, because Stitch reads them as the one value of a person.</summary>
    private static readonly string[] OncePerFeed = ["given-name", "surname", "generational-suffix"];

    /// <summary>Field names (lowercase, without '_', '-' or spaces) that suggest a profile tag.</summary>
    private static readonly Dictionary<string, string> Suggestions = new(StringComparer.Ordinal)
    {
        ["email"] = "email", ["emailaddress"] = "email", ["phone"] = "phone", ["phonenumber"] = "phone", ["mobile"] = "phone",
        ["firstname"] = "given-name", ["givenname"] = "given-name", ["lastname"] = "surname", ["surname"] = "surname",
        ["familyname"] = "surname", ["fullname"] = "full-name", ["address"] = "address", ["address1"] = "address",
        ["streetaddress"] = "address", ["address2"] = "address2", ["city"] = "city", ["state"] = "state",
        ["province"] = "state", ["zip"] = "postal", ["zipcode"] = "postal", ["postal"] = "postal", ["postalcode"] = "postal",
        ["postcode"] = "postal", ["country"] = "country", ["birthdate"] = "birthdate", ["dateofbirth"] = "birthdate",
        ["dob"] = "birthdate", ["gender"] = "gender", ["company"] = "company", ["employer"] = "company", ["title"] = "title",
        ["lastmodified"] = "update-dt", ["updatedat"] = "update-dt", ["updatedt"] = "update-dt", ["createdat"] = "create-dt",
        ["createdt"] = "create-dt", ["joindate"] = "create-dt",
    };

    [GeneratedRegex("^fk-[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex ForeignKey();

    [GeneratedRegex("^[a-z][a-z0-9]*([-/][a-z0-9]+)*$")]
    private static partial Regex Custom();

    /// <summary>The tags a field's name suggests: <c>pk</c> for key fields, a profile tag for a known name.</summary>
    public static IReadOnlyList<string> Suggest(FeedField field, string? lastUpdatedField)
    {
        var tags = new List<string>();
        if (field.PrimaryKey) tags.Add("pk");
        var key = field.Name.ToLowerInvariant().Replace("_", "").Replace("-", "").Replace(" ", "");
        if (Suggestions.TryGetValue(key, out var tag) && Fits(tag, field)) tags.Add(tag);
        if (field.Name == lastUpdatedField && !tags.Contains("update-dt")) tags.Add("update-dt");
        return tags;
    }

    /// <summary>Fills in suggested tags for the fields that came without any.</summary>
    public static FeedDefinition WithSuggestions(FeedDefinition feed) => feed with
    {
        Fields = [.. feed.Fields.Select(f => f.Tags is null ? f with { Tags = Suggest(f, feed.LastUpdatedField) } : f)],
    };

    public static IEnumerable<string> Validate(FeedDefinition feed)
    {
        foreach (var field in feed.Fields)
        {
            foreach (var tag in field.Tags ?? [])
            {
                if (tag == "fk" || tag == "fk-") yield return $"field '{field.Name}': tag 'fk' needs a namespace, e.g. 'fk-customer-id'";
                else if (tag == "pk" && !field.PrimaryKey) yield return $"field '{field.Name}': tag 'pk' is only for primary-key fields";
                else if (Profile.TryGetValue(tag, out var types) && !types.Contains(field.Type))
                    yield return $"field '{field.Name}': tag '{tag}' needs type {string.Join(" or ", types)}, not {field.Type}";
                else if ((tag == "ck" || ForeignKey().IsMatch(tag)) && !Key.Contains(field.Type))
                    yield return $"field '{field.Name}': tag '{tag}' is a key, which needs type String or Integer, not {field.Type}";
                else if (!Profile.ContainsKey(tag) && tag is not ("pk" or "ck") && !ForeignKey().IsMatch(tag) && !Custom().IsMatch(tag))
                    yield return $"field '{field.Name}': tag '{tag}' must be lowercase words joined by '-' or '/'";
            }
        }
        foreach (var tag in OncePerFeed)
        {
            var count = feed.Fields.Count(f => f.Tags?.Contains(tag) == true);
            if (count > 1) yield return $"tag '{tag}' may mark one field only, not {count}";
        }
    }

    private static bool Fits(string tag, FeedField field) => Profile[tag].Contains(field.Type);
}
