using System.Security.Cryptography;
using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using CsvHelper;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Formats.Pgp;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;
using Npgsql;

namespace HeapDaemon.Actors.Pipeline;

/// <summary>One file of a run: where it is, how it is written, which feed it loads into.</summary>
public sealed record FileLoadJob(Guid RunId, int Ordinal, IAmazonS3 S3, string Bucket, string Key, FileSettings Settings, string? PgpCredentialId, FeedDefinition Feed, bool ForceReload)
{
    public string SourceFile => $"s3://{Bucket}/{Key}";
}

/// <summary>Where a file's load has got to; sent after every batch.</summary>
public sealed record FileProgress(int Ordinal, string Key, long BytesRead, long? TotalBytes, long RowsRead, long RowsRejected);

public sealed class LoadingSettings
{
    /// <summary>Rows per COPY batch: bounds the rows in memory per file, whatever its size.</summary>
    public int BatchRows { get; init; } = 5_000;
}

/// <summary>
/// The graph for one file: S3 object stream → unwrap (PGP, gzip, archive) and parse → validate against the feed →
/// batches → COPY into staging; then merge, ledger and commit in one transaction. Demand flows back from the COPY, so the S3 read never runs
/// ahead of PostgreSQL by more than a batch and a read buffer.
/// </summary>
public sealed class FileLoadPipeline(NpgsqlDataSource db, LoadingSettings settings, PgpKeyCatalog pgp)
{
    public async Task<FileOutcome> RunAsync(FileLoadJob job, IMaterializer materializer, Action<FileProgress> report, CancellationToken ct)
    {
        PgpKeyring? keyring = null;
        if (job.PgpCredentialId is { } pgpId)
        {
            try
            {
                keyring = await pgp.GetKeyringAsync(pgpId, ct);
            }
            catch (Exception e) when (e is PgpKeyException or CryptographicException)
            {
                return FileOutcome.Failed($"{job.SourceFile}: PGP credential '{pgpId}' cannot be used: {e.Message}");
            }
            if (keyring is null) return FileOutcome.Failed($"{job.SourceFile}: PGP credential '{pgpId}' does not exist");
        }

        GetObjectResponse response;
        try
        {
            response = await job.S3.GetObjectAsync(new GetObjectRequest { BucketName = job.Bucket, Key = job.Key }, ct);
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            return FileOutcome.Failed(S3Errors.Describe(e, job.Bucket, job.Key));
        }

        using (response)
        {
            var etag = response.ETag.Trim('"');
            if (!job.ForceReload && await LoadLedger.FindAsync(db, job.Bucket, job.Key, etag, job.Feed.Id, ct) is { } loaded)
            {
                return new FileOutcome(FileStatus.Skipped, etag, Message:
                    $"{job.SourceFile} (ETag {etag}) was loaded into feed '{job.Feed.Id}' by run {loaded.RunId} at {loaded.LoadedAt:u} " +
                    $"({loaded.RowsLoaded} rows); nothing new to load. Use forceReload to load it again.");
            }

            var body = new CountingStream(response.ResponseStream);
            long? totalBytes = response.ContentLength >= 0 ? response.ContentLength : null;
            var totals = new FileTotals();
            try
            {
                await using var load = await DomainTableLoad.BeginAsync(db, job.Feed, ct);
                await using var rejects = new RejectWriter(db, job.RunId, job.Key);

                totals = await Source.From(() => FileRecords.ReadAsync(body, job.Settings, keyring, ct))
                    .Via(Validate(job.Feed, job.Settings))
                    .Grouped(settings.BatchRows)
                    .SelectAsync(1, async batch => await WriteBatchAsync(batch, load, rejects, ct))
                    .RunAggregate(totals, (sum, batch) =>
                    {
                        sum = sum.Add(batch);
                        report(new FileProgress(job.Ordinal, job.Key, body.BytesRead, totalBytes, sum.Accepted + sum.Rejected, sum.Rejected));
                        return sum;
                    }, materializer);

                var read = totals.Accepted + totals.Rejected;
                if (totals.Rejected > 0 && totals.Rejected * 100m > job.Feed.ErrorThresholdPercent * read)
                {
                    return FileOutcome.Failed(
                        $"{job.SourceFile}: {totals.Rejected} of {read} rows rejected ({100m * totals.Rejected / read:0.##}%), above feed " +
                        $"'{job.Feed.Id}' error threshold of {job.Feed.ErrorThresholdPercent}%; nothing from this file was loaded. " +
                        $"First: line {totals.FirstReject!.Line}: {totals.FirstReject.Reason}",
                        body.BytesRead, read, totals.Rejected, etag);
                }

                var merged = await load.MergeAsync(job.SourceFile, ct);
                await load.CommitAsync(new LoadedObject(job.Bucket, job.Key, etag, job.Feed.Id, job.RunId), totals.Accepted, totals.Rejected, ct);
                return new FileOutcome(FileStatus.Loaded, etag, body.BytesRead, read, merged.Inserted, merged.Updated, totals.Rejected,
                    $"{job.SourceFile}: {read} rows read, {merged.Inserted} inserted, {merged.Updated} updated, " +
                    $"{totals.Accepted - merged.Inserted - merged.Updated} unchanged or older, {totals.Rejected} rejected");
            }
            catch (Exception e) when (!ct.IsCancellationRequested && Describe(e, job) is { } message)
            {
                return FileOutcome.Failed(message, body.BytesRead, totals.Accepted + totals.Rejected, totals.Rejected, etag);
            }
        }
    }

    /// <summary>Expected failures of a file, as the message the run shows; null for anything else, which propagates.</summary>
    private static string? Describe(Exception e, FileLoadJob job) => e switch
    {
        SchemaMismatchException or UnreadableFileException => $"{job.SourceFile}: {e.Message}",
        CsvHelperException => $"{job.SourceFile}: malformed CSV: {e.Message.Split('\n')[0]}",
        AmazonServiceException or HttpRequestException or IOException => S3Errors.Describe(e, job.Bucket, job.Key),
        PostgresException pg => $"{job.SourceFile}: PostgreSQL refused the load: {pg.SqlState}: {pg.MessageText}",
        NpgsqlException => $"{job.SourceFile}: PostgreSQL connection failed: {e.Message}",
        _ => null,
    };

    /// <summary>
    /// Each record is checked against the feed. A text file's first record is its header when it has one; records
    /// of typed formats carry their names, and a validator is built for each new set of names.
    /// </summary>
    private static Flow<SourceRecord, ValidatedRow, NotUsed> Validate(FeedDefinition feed, FileSettings settings) =>
        Flow.Create<SourceRecord>().StatefulSelectMany<SourceRecord, SourceRecord, ValidatedRow, NotUsed>(() =>
        {
            var validator = settings.IsDelimited && !settings.HasHeader ? RowValidator.ByPosition(feed) : null;
            string[]? names = null;
            return record =>
            {
                // A typed format's malformed record (a line that is not JSON) has no names to match: it is a reject as it is.
                if (record.Problem is not null && !settings.IsDelimited) return [new RejectedRow(record.Line, record.Raw ?? "", record.Problem)];
                if (record.Names is { } recordNames)
                {
                    if (!ReferenceEquals(recordNames, names))
                    {
                        var json = settings.Format is FileFormat.Json or FileFormat.Ndjson;
                        try
                        {
                            validator = RowValidator.ForNames(feed, recordNames, allowMissing: json);
                        }
                        catch (SchemaMismatchException e) when (json)
                        {
                            throw new SchemaMismatchException($"{(settings.Format == FileFormat.Ndjson ? "line" : "record")} {record.Line}: {e.Message}");
                        }
                        names = recordNames;
                    }
                    return [validator!.Validate(record)];
                }
                if (validator is not null) return [validator.Validate(record)];
                validator = RowValidator.ForHeader(feed, Array.ConvertAll(record.Fields, f => f as string ?? ""));
                return [];
            };
        });

    private static async Task<BatchCounts> WriteBatchAsync(IEnumerable<ValidatedRow> batch, DomainTableLoad load, RejectWriter rejects, CancellationToken ct)
    {
        var accepted = new List<AcceptedRow>();
        var rejected = new List<RejectedRow>();
        foreach (var row in batch)
        {
            if (row is AcceptedRow a) accepted.Add(a);
            else rejected.Add((RejectedRow)row);
        }
        await load.WriteAsync(accepted, ct);
        await rejects.WriteAsync(rejected, ct);
        return new BatchCounts(accepted.Count, rejected.Count, rejected.FirstOrDefault());
    }

    private sealed record BatchCounts(long Accepted, long Rejected, RejectedRow? FirstReject);

    private sealed record FileTotals(long Accepted = 0, long Rejected = 0, RejectedRow? FirstReject = null)
    {
        public FileTotals Add(BatchCounts batch) =>
            new(Accepted + batch.Accepted, Rejected + batch.Rejected, FirstReject ?? batch.FirstReject);
    }
}
