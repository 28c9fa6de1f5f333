using System.Collections.Immutable;
using Amazon.S3;
using Amazon.S3.Model;
using Avro;
using Avro.File;
using Avro.Generic;
using HeapDaemon.Actors.Failures;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Pipeline;

namespace HeapDaemon.Actors.Heap;

/// <summary>A table's schema cannot be loaded as it is; the message names the table, the column and the file.</summary>
public sealed class HeapSchemaException(string message) : Exception(message);

/// <summary>
/// Heap tables as feeds. Column types come from the Avro writer schema of a dump's first file: Heap's ids
/// (<c>user_id</c>, <c>event_id</c>, <c>session_id</c>, <c>from_user_id</c>, <c>to_user_id</c>) are Integers (bigint),
/// whether written as longs or numeric strings; times (<c>time</c>, <c>joindate</c>, <c>last_modified</c>,
/// <c>session_time</c>) are Datetimes. A time written as a plain number is read in the Unix-time unit its values show
/// (seconds, milliseconds or microseconds, judged on a sample), and a dump whose values show another unit than the
/// feed's fails: a time is never silently mis-scaled.
/// </summary>
public static class HeapSchema
{
    private static readonly HashSet<string> IdColumns = ["user_id", "event_id", "session_id", "from_user_id", "to_user_id"];
    private static readonly HashSet<string> TimeColumns = ["time", "joindate", "last_modified", "session_time"];

    /// <summary>The start of a file is enough for its schema and a sample of its values; the rest is never read.</summary>
    private const int SampleBytes = 1 << 20;
    private const int SampleRecords = 500;

    /// <summary>Plausible Unix times (1990 to 2100) in each unit.</summary>
    private static readonly (EpochUnit Unit, long Min, long Max)[] Units =
    [
        (EpochUnit.Seconds, 631_152_000L, 4_102_444_800L),
        (EpochUnit.Milliseconds, 631_152_000_000L, 4_102_444_800_000L),
        (EpochUnit.Microseconds, 631_152_000_000_000L, 4_102_444_800_000_000L),
    ];

    /// <param name="Whole">The object itself, when the sample's read got all of it (a small part file): its load needs no GET of its own.</param>
    /// <param name="Bytes">The bytes the read got.</param>
    public sealed record Sample(RecordSchema Schema, IReadOnlyList<GenericRecord> Records, FetchedObject? Whole = null, long Bytes = 0);

    public static string KeyOf(string table) => table switch
    {
        "users" => "user_id",
        HeapCourier.UserMigrations => "from_user_id",
        _ => "event_id",
    };

    private static string? LastUpdatedOf(string table) => table switch
    {
        "users" => "last_modified",
        _ => "time",
    };

    public static string FeedId(string source, string table) => FeedDefinition.DefaultId(source, table);

    /// <summary>The schema and first records of an Avro file, from a ranged GET of its start.</summary>
    public static async Task<Sample> ReadSampleAsync(IAmazonS3 s3, string bucket, string key, CancellationToken ct)
    {
        using var response = await s3.GetObjectAsync(new GetObjectRequest { BucketName = bucket, Key = key, ByteRange = new ByteRange(0, SampleBytes - 1) }, ct);
        var buffer = new MemoryStream();
        await response.ResponseStream.CopyToAsync(buffer, ct);
        buffer.Position = 0;
        var whole = IsWhole(response.ContentRange, buffer.Length)
            ? new FetchedObject(buffer.ToArray(), response.ETag, response.VersionId)
            : null;
        System.Runtime.CompilerServices.RuntimeHelpers.RunClassConstructor(typeof(AvroFormat).TypeHandle); // registers snappy
        IFileReader<GenericRecord> reader;
        try
        {
            reader = DataFileReader<GenericRecord>.OpenReader(buffer);
        }
        catch (Exception e) when (e is AvroException or IOException or InvalidDataException or ArgumentException)
        {
            throw new HeapSchemaException($"s3://{bucket}/{key} is not an Avro object container file, or its header is damaged ({FailureText.Of(e)})");
        }
        using (reader)
        {
            if (reader.GetSchema() is not RecordSchema schema) throw new HeapSchemaException($"s3://{bucket}/{key}: its Avro schema is not a record");
            var records = new List<GenericRecord>();
            try
            {
                while (records.Count < SampleRecords && reader.HasNext()) records.Add(reader.Next());
            }
            catch (Exception e) when (e is AvroException or IOException or InvalidDataException or ArgumentException && buffer.Length >= SampleBytes)
            {
                // The sample ended inside a block: the records before it are the sample.
            }
            return new Sample(schema, records, whole, buffer.Length);
        }
    }

    /// <summary>A ranged GET's answer holds the whole object: no range came back (the whole object did), or the range's end is the object's.</summary>
    private static bool IsWhole(string? contentRange, long length)
    {
        if (string.IsNullOrEmpty(contentRange)) return true;
        var total = contentRange[(contentRange.LastIndexOf('/') + 1)..];
        return long.TryParse(total, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var size) && size == length;
    }

    /// <summary>
    /// The feed for a table as of this dump: the existing feed with the dump's new columns added (columns no longer
    /// written keep their field and column), or a new feed. Returns the existing definition unchanged when nothing is new.
    /// </summary>
    /// <exception cref="HeapSchemaException">a name cannot be a table or column, the key is missing, or times do not fit.</exception>
    public static FeedDefinition FeedFor(string source, HeapTable table, Sample sample, string sampleFile, FeedDefinition? existing)
    {
        if (!Identifiers.IsSchemaOrTableName(table.Name))
            throw new HeapSchemaException($"table '{table.Name}' cannot be a domain table name (lowercase letters, digits and underscores, starting with a letter)");
        var id = FeedId(source, table.Name);
        if (!Identifiers.IsId(id)) throw new HeapSchemaException($"table '{table.Name}' gives feed id '{id}', which is longer than 63 characters");
        var fields = existing?.Fields.ToList() ?? [];
        var schemaFields = sample.Schema.Fields.ToDictionary(f => f.Name, StringComparer.OrdinalIgnoreCase);
        foreach (var name in sample.Schema.Fields.Select(f => f.Name).Concat(table.Columns).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            if (!Identifiers.IsColumnName(name))
                throw new HeapSchemaException($"column '{name}' of table '{table.Name}' cannot be a column name (letters, digits and underscores, not starting with '_' or a digit)");
            var field = schemaFields.TryGetValue(name, out var f) ? FieldFor(table.Name, f, sample, sampleFile) : new FeedField(name, FieldType.String, Tags: []);
            var known = fields.FindIndex(x => x.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (known < 0) fields.Add(field);
            else if (fields[known] is { Type: FieldType.Datetime, Epoch: { } stored } && field.Epoch is { } seen && stored != seen)
                throw new HeapSchemaException($"column '{name}' of table '{table.Name}' holds Unix times in {seen.ToString().ToLowerInvariant()} " +
                                              $"in {sampleFile}, but feed '{id}' reads them as {stored.ToString().ToLowerInvariant()}");
        }
        var key = KeyOf(table.Name);
        if (existing is not null) return fields.Count == existing.Fields.Length ? existing : existing with { Fields = [.. fields] };
        if (!fields.Any(x => x.Name == key)) throw new HeapSchemaException($"table '{table.Name}' has no key column '{key}' in {sampleFile}");
        var lastUpdated = LastUpdatedOf(table.Name) is { } lu && fields.Any(x => x.Name == lu && x.Type == FieldType.Datetime) ? lu : null;
        return new FeedDefinition(id, source, table.Name, [.. fields.Select(x => Tagged(table.Name, x, key, lastUpdated))], lastUpdated,
            NewColumns: NewColumnPolicy.Add);
    }

    /// <summary>
    /// Amperity's tags for Heap (reference B.11): users' email and identity, and events' link to their user. A user's own
    /// id carries the events' namespace too, so Stitch can give each event its user's person.
    /// </summary>
    private static FeedField Tagged(string table, FeedField field, string key, string? lastUpdated)
    {
        IReadOnlyList<string> tags = (table, field.Name) switch
        {
            ("users", var n) when n == key => ["pk", "fk-heap-user"],
            (_, var n) when n == key => ["pk"],
            ("users", "email") => ["email"],
            ("users", "identity") => ["ck"],
            ("users", "last_modified") => ["update-dt"],
            (not ("users" or HeapCourier.UserMigrations), "user_id") => ["fk-heap-user"],
            _ => [],
        };
        return field with { PrimaryKey = field.Name == key, Nullable = field.Name != key && field.Name != lastUpdated, Tags = tags };
    }

    private static FeedField FieldFor(string table, Field avro, Sample sample, string sampleFile)
    {
        var schema = avro.Schema is UnionSchema union && union.Schemas.Count(s => s.Tag != Schema.Type.Null) == 1
            ? union.Schemas.First(s => s.Tag != Schema.Type.Null)
            : avro.Schema;
        var logical = (schema as LogicalSchema)?.LogicalTypeName;
        var name = avro.Name;
        if (IdColumns.Contains(name)) return new FeedField(name, FieldType.Integer, Tags: []);
        if (logical is "timestamp-millis" or "timestamp-micros") return new FeedField(name, FieldType.Datetime, Tags: []);
        var tag = schema is LogicalSchema ls ? ls.BaseSchema.Tag : schema.Tag;
        if (TimeColumns.Contains(name))
        {
            return tag is Schema.Type.Long or Schema.Type.Int
                ? new FeedField(name, FieldType.Datetime, Tags: [], Epoch: UnitOf(table, avro, sample, sampleFile))
                : new FeedField(name, FieldType.Datetime, Tags: []);
        }
        var type = tag switch
        {
            Schema.Type.Long or Schema.Type.Int => FieldType.Integer,
            Schema.Type.Double or Schema.Type.Float => FieldType.Float,
            Schema.Type.Boolean => FieldType.Boolean,
            _ => FieldType.String,
        };
        return new FeedField(name, type, Tags: []);
    }

    /// <summary>The one unit in which every sampled value is a plausible time; milliseconds (Heap's) when there is no value.</summary>
    private static EpochUnit UnitOf(string table, Field avro, Sample sample, string sampleFile)
    {
        var values = sample.Records.Select(r => r.GetValue(avro.Pos)).OfType<object>().Select(Convert.ToInt64).ToList();
        if (values.Count == 0) return EpochUnit.Milliseconds;
        foreach (var (unit, min, max) in Units)
            if (values.All(v => v >= min && v <= max)) return unit;
        var outOfRange = values.Where(v => !Units.Any(u => v >= u.Min && v <= u.Max)).ToList();
        var why = outOfRange.Count > 0
            ? $"{outOfRange[0]} is not a Unix time in seconds, milliseconds or microseconds between 1990 and 2100"
            : $"its values mix Unix-time units ({values.Min()} and {values.Max()})";
        throw new HeapSchemaException($"column '{avro.Name}' of table '{table}' in {sampleFile}: {why}; its times cannot be read safely");
    }
}
