using Amazon.S3;
using Amazon.S3.Model;

namespace HeapDaemon.SampleData;

/// <summary>One object of an export: a manifest or an Avro part file, at its key in the bucket.</summary>
public sealed record ExportObject(string Key, byte[] Content);

/// <summary>A row as Heap writes it: column name to a long, a string or null.</summary>
public sealed class Row : Dictionary<string, object?>
{
    public Row() : base(StringComparer.Ordinal) { }

    public Row(IDictionary<string, object?> values) : base(values, StringComparer.Ordinal) { }

    public long Long(string column) => this[column] switch
    {
        long l => l,
        string s => long.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
        var v => throw new InvalidOperationException($"column {column} is {v ?? "null"}, not a number"),
    };
}

/// <summary>
/// A generated Heap Connect export: the objects to put in a bucket, and the tables a correct consumer ends with,
/// computed from the generated rows (full dumps replace a table, incremental ones upsert on its key where the row is
/// not older, user_migrations is always whole), and the final user of every merged user id.
/// </summary>
public sealed record HeapExport(
    string Bucket,
    string Prefix,
    IReadOnlyList<long> DumpIds,
    IReadOnlyList<ExportObject> Objects,
    IReadOnlyDictionary<string, IReadOnlyDictionary<long, Row>> Expected,
    IReadOnlyDictionary<long, long> FinalUser)
{
    /// <summary>Tables named by the manifests, in the order they first appear.</summary>
    public IEnumerable<string> Tables => Expected.Keys;

    public string ManifestKey(long dumpId) => $"{Prefix}manifests/sync_{dumpId}.json";

    /// <summary>The objects of one dump (its manifest last, as Heap signals completion with the manifest).</summary>
    public IEnumerable<ExportObject> ObjectsOf(long dumpId) =>
        Objects.Where(o => o.Key.StartsWith($"{Prefix}sync_{dumpId}/", StringComparison.Ordinal))
            .Append(Objects.Single(o => o.Key == ManifestKey(dumpId)));

    public async Task UploadAsync(IAmazonS3 s3, IEnumerable<ExportObject>? objects = null, CancellationToken ct = default)
    {
        foreach (var o in objects ?? Objects)
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = Bucket, Key = o.Key, InputStream = new MemoryStream(o.Content) }, ct);
    }

    public void WriteTo(string folder)
    {
        foreach (var o in Objects)
        {
            var path = Path.Combine(folder, o.Key);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, o.Content);
        }
    }
}
