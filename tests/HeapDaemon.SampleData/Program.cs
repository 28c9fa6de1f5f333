using Amazon.Runtime;
using Amazon.S3;
using HeapDaemon.SampleData;

// heap-sample <folder> [--seed N] [--bucket B] [--prefix P]          writes the export under <folder>
// heap-sample --s3 <endpoint> --bucket B [--seed N] [--prefix P]     uploads it (keys from AWS_ACCESS_KEY_ID/..., or "test")
// --wide N: the wide export instead (users, pageviews, sessions and N event tables; 6 dumps of 2 parts per table).
// Prints the expected row count of every table afterwards.
namespace HeapDaemon.SampleData;

/// <summary>The console entry point (a named class, so test projects referencing this one keep their own Program).</summary>
public static class HeapSampleCli
{
    public static async Task<int> Main(string[] args)
    {
        var options = new Dictionary<string, string>();
        string? folder = null;
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length) options[args[i][2..]] = args[++i];
            else folder = args[i];
        }
        var seed = int.Parse(options.GetValueOrDefault("seed", "1"), System.Globalization.CultureInfo.InvariantCulture);
        var bucket = options.GetValueOrDefault("bucket", "heap-rs3-sample");
        var generator = new HeapExportGenerator(seed, bucket, options.GetValueOrDefault("prefix", ""));
        var export = options.TryGetValue("wide", out var eventTables)
            ? generator.GenerateWide(int.Parse(eventTables, System.Globalization.CultureInfo.InvariantCulture))
            : generator.Generate();

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
            Console.Error.WriteLine("usage: heap-sample <folder> | --s3 <endpoint> --bucket <bucket>  [--seed N] [--prefix P] [--wide N]");
            return 2;
        }
        foreach (var (table, rows) in export.Expected) Console.WriteLine($"expected {table}: {rows.Count} rows");
        Console.WriteLine($"merged users: {export.FinalUser.Count}");
        return 0;
    }
}
