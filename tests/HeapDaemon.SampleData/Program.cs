using Amazon.Runtime;
using Amazon.S3;
using HeapDaemon.SampleData;

// heap-sample <folder> [--seed N] [--bucket B] [--prefix P]          writes the export under <folder>
// heap-sample --s3 <endpoint> --bucket B [--seed N] [--prefix P]     uploads it (keys from AWS_ACCESS_KEY_ID/..., or "test")
// heap-sample people --people N --out <folder> [--seed N] [--change-percent P] [--emails a,b]
//     writes Stitch's synthetic sources (see PeopleGenerator), truth.csv, and under change/ the same files with P% of rows changed
// Prints the expected row count of every table afterwards.
namespace HeapDaemon.SampleData;

/// <summary>The console entry point (a named class, so test projects referencing this one keep their own Program).</summary>
public static class HeapSampleCli
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "people") return People(args[1..]);
        var options = new Dictionary<string, string>();
        string? folder = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length) options[args[i][2..]] = args[++i];
            else folder = args[i];
        }
        var seed = int.Parse(options.GetValueOrDefault("seed", "1"), System.Globalization.CultureInfo.InvariantCulture);
        var bucket = options.GetValueOrDefault("bucket", "heap-rs3-sample");
        var export = new HeapExportGenerator(seed, bucket, options.GetValueOrDefault("prefix", "")).Generate();

        if (options.TryGetValue("s3", out var endpoint))
        {
            using var s3 = new AmazonS3Client(
                new BasicAWSCredentials(Environment.GetEnvironmentVariable("AWS_ACCESS_KEY_ID") ?? "test", Environment.GetEnvironmentVariable("AWS_SECRET_ACCESS_KEY") ?? "test"),
                new AmazonS3Config { ServiceURL = endpoint, ForcePathStyle = true, AuthenticationRegion = "us-east-1" });
            try { await s3.PutBucketAsync(bucket); }
            catch (AmazonS3Exception e) when (e.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists") { }
            await export.UploadAsync(s3);
            Console.WriteLine($"uploaded {export.Objects.Count} objects to s3://{bucket}/{export.Prefix} (dumps {string.Join(", ", export.DumpIds)})");
        }
        else if (folder is not null)
        {
            export.WriteTo(folder);
            Console.WriteLine($"wrote {export.Objects.Count} objects under {folder} (dumps {string.Join(", ", export.DumpIds)})");
        }
        else
        {
            Console.Error.WriteLine("usage: heap-sample <folder> | --s3 <endpoint> --bucket <bucket>  [--seed N] [--prefix P]");
            return 2;
        }
        foreach (var (table, rows) in export.Expected) Console.WriteLine($"expected {table}: {rows.Count} rows");
        Console.WriteLine($"merged users: {export.FinalUser.Count}");
        return 0;
    }

    private static int People(string[] args)
    {
        var options = new Dictionary<string, string>();
        for (var i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        var people = int.Parse(options.GetValueOrDefault("people", "1000"), culture);
        var folder = options["out"];
        var generator = new PeopleGenerator(int.Parse(options.GetValueOrDefault("seed", "1"), culture))
        {
            KnownEmails = options.TryGetValue("emails", out var emails) ? emails.Split(',', StringSplitOptions.RemoveEmptyEntries) : [],
        };
        var (_, files) = generator.Generate(people);
        Directory.CreateDirectory(Path.Combine(folder, "change"));
        using (var truth = new StreamWriter(Path.Combine(folder, "truth.csv")))
        {
            truth.WriteLine("source,feed,pk,person");
            foreach (var file in files)
                foreach (var (pk, person) in file.Truth) truth.WriteLine($"{file.Source},{file.Table},{pk},{person}");
        }
        var percent = double.Parse(options.GetValueOrDefault("change-percent", "1"), culture);
        foreach (var file in files)
        {
            File.WriteAllText(Path.Combine(folder, $"{file.Source}_{file.Table}.csv"), file.Csv());
            File.WriteAllText(Path.Combine(folder, "change", $"{file.Source}_{file.Table}.csv"), PeopleGenerator.Changed(file, percent / 100, 11).Csv());
        }
        Console.WriteLine($"wrote {files.Sum(f => f.Rows.Count)} records of {people} people under {folder} ({string.Join(", ", files.Select(f => $"{f.Source}.{f.Table} {f.Rows.Count}"))})");
        return 0;
    }
}
