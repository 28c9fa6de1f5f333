using System.Globalization;
using System.Text;
using Avro;
using Avro.File;
using Avro.Generic;
using HeapDaemon.Actors.Formats;
using Parquet;
using Parquet.Schema;

// Writes the benchmark data sets of scripts/bench.sh: Heap pageviews as a plain CSV (the limit's and, gzipped and
// encrypted by the script, the PGP set's), as snappy Avro part files and as one Parquet file. Every value derives
// from the event id, so the "reload" variant is the same rows with every second one changed (a later time and
// another title and path), and any size gives the same rows.
//
//   dotnet HeapDaemon.Benchmarks.dll --rows N --out DIR [--variant first|reload] [--avro-parts 4] [--row-group 100000]

var options = Args.Parse(args);
Directory.CreateDirectory(options.Out);
var rows = new Pageviews(options.Reload);

await using (var csv = new StreamWriter(Path.Combine(options.Out, "pageviews.csv"), false, new UTF8Encoding(false), 1 << 20))
{
    await csv.WriteLineAsync(string.Join(',', Pageviews.Columns));
    var line = new StringBuilder(512);
    for (long id = 1; id <= options.Rows; id++)
    {
        line.Clear();
        rows.WriteCsv(id, line);
        await csv.WriteLineAsync(line);
    }
}

var avroDir = Path.Combine(options.Out, "avro");
Directory.CreateDirectory(avroDir);
var schema = (RecordSchema)Schema.Parse(Pageviews.AvroSchema);
var perPart = (options.Rows + options.AvroParts - 1) / options.AvroParts;
for (var part = 0; part < options.AvroParts; part++)
{
    await using var file = File.Create(Path.Combine(avroDir, $"part-{part:D5}.avro"));
    using var writer = DataFileWriter<GenericRecord>.OpenWriter(new GenericDatumWriter<GenericRecord>(schema), file, new AvroFormat.SnappyCodec());
    var record = new GenericRecord(schema);
    for (var id = part * perPart + 1; id <= Math.Min(options.Rows, (part + 1) * perPart); id++)
    {
        var values = rows.Values(id);
        for (var i = 0; i < values.Length; i++) record.Add(i, values[i]);
        writer.Append(record);
    }
}

var fields = Pageviews.Columns.Select((name, i) => i < 4 ? (DataField)new DataField<long>(name) : new DataField<string>(name)).ToArray();
await using (var parquet = File.Create(Path.Combine(options.Out, "pageviews.parquet")))
await using (var writer = await ParquetWriter.CreateAsync(new ParquetSchema(fields), parquet, new ParquetOptions { CompressionMethod = CompressionMethod.Snappy }))
{
    for (long start = 1; start <= options.Rows; start += options.RowGroup)
    {
        var count = (int)Math.Min(options.RowGroup, options.Rows - start + 1);
        var longs = Enumerable.Range(0, 4).Select(_ => new long[count]).ToArray();
        var strings = Enumerable.Range(0, fields.Length - 4).Select(_ => new string?[count]).ToArray();
        for (var r = 0; r < count; r++)
        {
            var values = rows.Values(start + r);
            for (var i = 0; i < 4; i++) longs[i][r] = (long)values[i]!;
            for (var i = 4; i < values.Length; i++) strings[i - 4][r] = (string?)values[i];
        }
        using var group = writer.CreateRowGroup();
        for (var i = 0; i < 4; i++) await group.WriteAsync<long>(fields[i], longs[i]);
        for (var i = 4; i < fields.Length; i++) await group.WriteAsync(fields[i], strings[i - 4]);
    }
}

Console.WriteLine($"{options.Rows} rows ({(options.Reload ? "reload" : "first")}) in {options.Out}");

internal sealed record Args(long Rows, string Out, bool Reload, int AvroParts, int RowGroup)
{
    public static Args Parse(string[] args)
    {
        string Get(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var variant = Get("--variant", "first");
        if (variant is not ("first" or "reload")) throw new ArgumentException("--variant is first or reload");
        return new Args(long.Parse(Get("--rows", "1000000"), CultureInfo.InvariantCulture), Get("--out", "bench-data"), variant == "reload",
            int.Parse(Get("--avro-parts", "4"), CultureInfo.InvariantCulture), int.Parse(Get("--row-group", "100000"), CultureInfo.InvariantCulture));
    }
}

/// <summary>Heap's pageview table: the event's ids and time (epoch milliseconds), then its pageview and session properties.</summary>
internal sealed class Pageviews(bool reload)
{
    public static readonly string[] Columns =
    [
        "event_id", "user_id", "session_id", "time", "library", "platform", "device_type", "country", "region", "city", "ip",
        "referrer", "landing_page", "browser", "search_keyword", "utm_source", "utm_campaign", "utm_medium", "utm_term",
        "utm_content", "domain", "path", "hash", "query", "title",
    ];

    public static string AvroSchema =>
        $$"""{"type":"record","name":"pageviews","namespace":"heap","fields":[{{string.Join(",", Columns.Select((c, i) =>
            i < 4 ? $$"""{"name":"{{c}}","type":"long"}""" : $$"""{"name":"{{c}}","type":["null","string"]}"""))}}]}""";

    private static readonly string[] Browsers = ["Chrome", "Safari", "Firefox", "Edge", "Samsung Internet", "Opera"];
    private static readonly string[] Devices = ["Desktop", "Mobile", "Tablet"];
    private static readonly string[] Platforms = ["Mac OS X", "Windows", "iOS", "Android", "Linux", "Chrome OS"];
    private static readonly (string Country, string Region, string City)[] Places =
    [
        ("United States", "California", "San Francisco"), ("United States", "New York", "New York"), ("United States", "Washington", "Seattle"),
        ("Canada", "Ontario", "Toronto"), ("United Kingdom", "England", "London"), ("Germany", "Berlin", "Berlin"),
        ("France", "Ile-de-France", "Paris"), ("Japan", "Tokyo", "Tokyo"), ("Brazil", "Sao Paulo", "Sao Paulo"), ("India", "Karnataka", "Bengaluru"),
    ];
    private static readonly string[] Sections = ["products", "blog", "docs", "pricing", "account", "search", "checkout", "support"];
    private static readonly string[] Sources = ["google", "facebook", "newsletter", "twitter", "linkedin", "bing"];
    private static readonly string[] Mediums = ["cpc", "email", "social", "organic", "display"];
    private static readonly string[] Referrers = ["https://www.google.com/", "https://www.facebook.com/", "https://t.co/", "https://news.ycombinator.com/", "https://www.bing.com/"];
    private const long Start = 1_764_547_200_000; // 2025-12-01T00:00:00Z

    /// <summary>The row's values in <see cref="Columns"/> order: longs, then strings or null.</summary>
    public object?[] Values(long id)
    {
        var h = Mix((ulong)id);
        var changed = reload && id % 2 == 0;
        var user = 1 + (long)(h % 250_000);
        var session = user * 1_000 + (long)((h >> 20) % 40);
        var time = Start + id * 37 + (changed ? 3_600_000 : 0);
        var (country, region, city) = Places[(int)((h >> 8) % (ulong)Places.Length)];
        var section = Sections[(int)((h >> 12) % (ulong)Sections.Length)];
        var item = (h >> 16) % 5_000;
        var path = changed ? $"/{section}/item-{item}/v2" : $"/{section}/item-{item}";
        var campaign = (h >> 24) % 3 == 0;
        return
        [
            id, user, session, time, "web", Platforms[(int)((h >> 28) % (ulong)Platforms.Length)], Devices[(int)((h >> 32) % 3)],
            country, region, city, $"{(h >> 36) % 223 + 1}.{(h >> 40) % 256}.{(h >> 44) % 256}.{(h >> 48) % 256}",
            Referrers[(int)((h >> 52) % (ulong)Referrers.Length)], $"https://www.example.com/{section}",
            Browsers[(int)((h >> 56) % (ulong)Browsers.Length)], (h >> 4) % 4 == 0 ? $"{section} item {item}" : null,
            campaign ? Sources[(int)((h >> 6) % (ulong)Sources.Length)] : null, campaign ? $"winter-sale-{(h >> 10) % 20}" : null,
            campaign ? Mediums[(int)((h >> 14) % (ulong)Mediums.Length)] : null, campaign && (h >> 18) % 2 == 0 ? section : null,
            campaign ? $"banner-{(h >> 22) % 8}" : null, "www.example.com", path, (h >> 26) % 5 == 0 ? $"#section-{(h >> 30) % 10}" : null,
            $"?ref=home&item={item}&session={session}", changed ? $"Item {item} – {section} (updated) | Example Store" : $"Item {item} – {section} | Example Store",
        ];
    }

    public void WriteCsv(long id, StringBuilder line)
    {
        var values = Values(id);
        for (var i = 0; i < values.Length; i++)
        {
            if (i > 0) line.Append(',');
            switch (values[i])
            {
                case long l: line.Append(l.ToString(CultureInfo.InvariantCulture)); break;
                case string s when s.AsSpan().IndexOfAny(",\"\r\n") >= 0: line.Append('"').Append(s.Replace("\"", "\"\"")).Append('"'); break;
                case string s: line.Append(s); break;
            }
        }
    }

    /// <summary>SplitMix64: well-spread bits from an id, so every size and variant gives the same rows.</summary>
    private static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EB;
        return x ^ (x >> 31);
    }
}
