using System.Diagnostics;
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
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Metrics;
using HeapDaemon.Actors.Pgp;
using HeapDaemon.Actors.Retries;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;
using HeapDaemon.Actors.Streams;
using Npgsql;

namespace HeapDaemon.Actors.Pipeline;

/// <summary>One file of a run: where it is, how it is written, which feed it loads into.</summary>
/// <param name="MissingColumnsAreNull">A typed file may lack feed fields (Heap drops archived properties from its files).</param>
/// <param name="AllowEmpty">
/// Its courier file entry's <c>allowEmpty</c>: an empty file loads as 0 rows instead of failing. Null for files no
/// entry names (Heap's), which always fail when empty.
/// </param>
/// <param name="CommitWith">
/// The courier's own records of the file once it has loaded (the run's file row, Heap's applied part), written in the
/// transaction that commits its rows and ledger row: one commit a file, and never rows without their records. Not
/// called for a file that does not load (skipped, failed); the courier records those itself.
/// </param>
/// <param name="Fetched">The object, read whole already (a Heap part file its dump's sample read): it is loaded from these bytes, without a GET.</param>
public sealed record FileLoadJob(Guid RunId, int Ordinal, IAmazonS3 S3, string Bucket, string Key, FileSettings Settings, string? PgpCredentialId, FeedDefinition Feed, bool ForceReload,
    bool MissingColumnsAreNull = false, bool? AllowEmpty = null, Func<FileOutcome, IEnumerable<NpgsqlBatchCommand>>? CommitWith = null,
    FetchedObject? Fetched = null)
{
    public string SourceFile => LoadedObject.SourceFileOf(Bucket, Key);
}

/// <summary>An object's bytes, with the ETag and version id of the GET that read them.</summary>
public sealed record FetchedObject(byte[] Content, string ETag, string? VersionId)
{
    /// <summary>As a GET's answer whose body is these bytes.</summary>
    public GetObjectResponse AsResponse() =>
        new() { ETag = ETag, VersionId = VersionId, ContentLength = Content.Length, ResponseStream = new MemoryStream(Content, writable: false) };
}

/// <summary>Where a file's load has got to; sent after every batch.</summary>
public sealed record FileProgress(int Ordinal, string Key, long BytesRead, long? TotalBytes, long RowsRead, long RowsRejected);

public sealed class LoadingSettings
{
    /// <summary>Rows per COPY batch: bounds the rows in memory per file, whatever its size.</summary>
    public int BatchRows { get; init; } = 5_000;

    /// <summary>A file of new rows is COPYed straight into its domain table (see <see cref="LoadOptions.CopyNewRowsIntoTable"/>).</summary>
    public bool CopyNewRowsIntoTable { get; init; } = true;

    /// <summary>
    /// PostgreSQL's work_mem for a load's transaction: the merge sorts every staged row, and with the server's
    /// default (4MB) a million rows sort on disk. Null keeps the server's setting.
    /// </summary>
    public string? MergeWorkMem { get; init; } = "256MB";

    /// <summary>
    /// A file's staged rows are merged every this many rows, while the next are read (see
    /// <see cref="LoadOptions.MergeEveryRows"/>); as many rows wait in memory, in batches, for the merge to end.
    /// </summary>
    public int MergeEveryRows { get; init; } = 25_000;

    /// <summary>
    /// How many tables a run loads at once, each on its own connection: files of different domain tables overlap
    /// (their S3 round trips, COPYs and commits); the files of one table still load one after another, in order.
    /// </summary>
    public int Parallelism { get; init; } = Environment.ProcessorCount;

    /// <summary>
    /// At most this many consecutive small files of one table commit in one transaction (a group commit, see
    /// <see cref="FileLoadPipeline.RunInOrderAsync"/>); 1 commits every file on its own.
    /// </summary>
    public int GroupFiles { get; init; } = 32;

    /// <summary>
    /// A file joins a group only while the group's objects, this one included, total at most this many bytes; a larger
    /// file commits on its own. It also bounds the bytes of the files a lane opens ahead beyond the next one.
    /// </summary>
    public long GroupBytes { get; init; } = 8L << 20;

    /// <summary>How many files of a table are opened (their GET answered, their ledger row looked up) ahead of the one loading.</summary>
    public int OpenAhead { get; init; } = 4;

    /// <summary>A Heap run reads the next dump's listing and samples from S3 while a dump's tables load.</summary>
    public bool ReadDumpAhead { get; init; } = true;
}

/// <summary>
/// The graph for one file: S3 object stream → unwrap (PGP, gzip, archive) and parse → batches → validate against
/// the feed and encode for COPY → COPY into staging (merged every <see cref="LoadingSettings.MergeEveryRows"/>) or
/// into the table; then the last merge, ledger and commit in one transaction. Demand flows back from PostgreSQL, so
/// the S3 read never runs ahead of it by more than one merge's worth of batches and a read buffer; validating and
/// encoding overlap the COPY and merge of the batches before.
/// </summary>
public sealed class FileLoadPipeline(NpgsqlDataSource db, FeedCatalog feeds, LoadingSettings settings, S3Settings s3Settings, PgpKeyCatalog pgp,
    DaemonMetrics metrics)
{
    /// <summary>Upsert: one file, staged and merged (or COPYed into the table when its rows are new), committed with its ledger row on its own.</summary>
    public Task<FileOutcome> RunAsync(FileLoadJob job, IMaterializer materializer, Action<FileProgress> report, CancellationToken ct) =>
        RunAsync(job, null, materializer, report, ct);

    /// <summary>
    /// Upserts a table's files one after another, in their order. Consecutive small files share one transaction (a
    /// group: up to <see cref="LoadingSettings.GroupFiles"/> files of at most <see cref="LoadingSettings.GroupBytes"/>
    /// together), each with its own ledger row and the courier's records of it (<see cref="FileLoadJob.CommitWith"/>),
    /// so a group commits whole or not at all and every file in it is loaded exactly once. Files are opened (their GET
    /// and ledger look-up) up to <see cref="LoadingSettings.OpenAhead"/> ahead of the one loading, so a lane seldom
    /// waits on S3.
    /// </summary>
    /// <remarks>
    /// A file that fails in a group (a corrupt file, too many rejects) ends the group there: the group is rolled back,
    /// the files before it are loaded again and committed, and the failed file's outcome is reported as loading it on
    /// its own reports it, so what commits and what fails is what one commit a file would give. A file COPYed into its
    /// table that meets a key the table has (<see cref="RepeatedKeyException"/>) is loaded again on its own, through
    /// the merge.
    /// </remarks>
    /// <param name="ended">Records a file's outcome, once its group has committed; false stops the files after it.</param>
    public async Task RunInOrderAsync(IReadOnlyList<FileLoadJob> jobs, IMaterializer materializer, Action<FileProgress> report,
        Func<FileLoadJob, FileOutcome, Task<bool>> ended, CancellationToken ct)
    {
        await using var ahead = new FilesAhead(this, jobs, settings.OpenAhead, settings.GroupBytes, ct);
        for (var start = 0; start < jobs.Count;)
        {
            var outcomes = await LoadGroupAsync(jobs, start, jobs.Count, ahead.HeadAsync, ahead.PutBack, materializer, report, ct);
            ahead.Committed(start + outcomes.Count);
            foreach (var (job, outcome) in jobs.Skip(start).Zip(outcomes))
                if (!await ended(job, outcome)) return;
            start += outcomes.Count;
        }
    }

    /// <summary>
    /// Loads <c>jobs[start]</c> and the small files after it (before <paramref name="end"/>) that join its group, and
    /// commits them together.
    /// </summary>
    /// <returns>The outcomes of the files from <paramref name="start"/> on that the group took, at least one, in order.</returns>
    /// <param name="headOf">Opens a file (or gives the one opened ahead).</param>
    /// <param name="putBack">Takes back an opened file that does not join the group: the next group starts with it.</param>
    private async Task<IReadOnlyList<FileOutcome>> LoadGroupAsync(IReadOnlyList<FileLoadJob> jobs, int start, int end, Func<int, Task<FileHead>> headOf,
        Action<int, FileHead> putBack, IMaterializer materializer, Action<FileProgress> report, CancellationToken ct)
    {
        var first = await headOf(start);
        if (!Joins(first, 0) || start + 1 == end || settings.GroupFiles <= 1)
            return [await RunAsync(jobs[start], Task.FromResult(first), materializer, report, ct)];

        var outcomes = new List<FileOutcome?>();
        var staged = new List<StagedObject>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        long bytes = 0;
        int? stoppedAt = null;
        FileOutcome? stoppedWith = null;
        await using (var load = new StagedLoad(db, feeds, jobs[start].Feed, Options(replace: false, settings.CopyNewRowsIntoTable), Begun, ct))
        {
            for (var i = start; i < end; i++)
            {
                var job = jobs[i];
                FileHead head;
                if (i == start) head = first;
                else
                {
                    // The ledger row of a key already in the group must be looked up after the group commits.
                    if (outcomes.Count >= settings.GroupFiles || keys.Contains(job.Key)) break;
                    head = await headOf(i);
                    if (!Joins(head, bytes))
                    {
                        putBack(i, head);
                        break;
                    }
                }
                keys.Add(job.Key);
                bytes += head.Response?.ContentLength ?? 0;
                try
                {
                    using (head)
                    {
                        var file = await StageAsync(job, head, load, skipIfLoaded: !job.ForceReload, materializer, report, ct);
                        if (file.Outcome is { Status: FileStatus.Failed } failed) (stoppedAt, stoppedWith) = (i, failed);
                        else if (file.Outcome is { } skipped) outcomes.Add(skipped);
                        else
                        {
                            // Merged file by file, so each file's inserted and updated counts are its own.
                            await load.Load!.MergeAsync(ct);
                            staged.Add(file);
                            outcomes.Add(null);
                        }
                    }
                }
                catch (Exception e) when (IsRepeatedKey(e))
                {
                    stoppedAt = i;
                }
                catch (Exception e) when (!ct.IsCancellationRequested && e is PostgresException or NpgsqlException)
                {
                    (stoppedAt, stoppedWith) = (i, FileOutcome.Failed(Describe(e, job)!) with { Fault = Faults.Classify(e) });
                }
                if (stoppedAt is not null) break;
            }
            if (stoppedAt is null)
            {
                var committed = staged.Count == 0 ? [] : await CommitAsync(load, staged, replace: false, ct);
                var next = 0;
                return outcomes.Select(o => o ?? committed[next++]).ToList();
            }
        }

        // The group is rolled back. Its files before the one that stopped it load again (their rejects, written on a
        // connection of their own, are cleared first), then that one as loading it on its own would.
        var at = stoppedAt.Value;
        var loadedAgain = jobs.Skip(start).Take(at - start + (stoppedWith is null ? 1 : 0)).Select(j => j.Key).ToList();
        if (loadedAgain.Count > 0) await RejectWriter.ClearAsync(db, jobs[start].RunId, loadedAgain, ct);
        var before = new List<FileOutcome>();
        while (start + before.Count < at)
        {
            var again = await LoadGroupAsync(jobs, start + before.Count, at, i => OpenAsync(jobs[i], ct), (_, head) => head.Dispose(),
                materializer, report, ct);
            before.AddRange(again);
            // A file before it failed this time: the group ends there, and the files after it load as the next groups.
            if (again[^1].Status == FileStatus.Failed) return before;
        }
        before.Add(stoppedWith ?? await RunAsync(jobs[at], null, materializer, report, ct));
        return before;
    }

    /// <summary>Whether an opened file may join a group of <paramref name="groupBytes"/>: it was found, and is small enough.</summary>
    private bool Joins(FileHead head, long groupBytes) =>
        head.Response is { ContentLength: >= 0 and var length } && groupBytes + length <= settings.GroupBytes;

    /// <summary>
    /// Opens a table's files ahead of its load, in order: the next one always, and further ones, up to
    /// <paramref name="depth"/>, while those opened ahead are small (together at most <paramref name="aheadBytes"/>).
    /// A file is not opened ahead while a file of the same key before it is not committed: its ledger row would be
    /// looked up too early.
    /// </summary>
    private sealed class FilesAhead(FileLoadPipeline pipeline, IReadOnlyList<FileLoadJob> jobs, int depth, long aheadBytes, CancellationToken ct)
        : IAsyncDisposable
    {
        private readonly Lock _lock = new();
        private readonly Task<FileHead>?[] _heads = new Task<FileHead>?[jobs.Count];
        // Each opened file's size once its GET has answered; -1 until then, or when it failed.
        private readonly long[] _sizes = Enumerable.Repeat(-1L, jobs.Count).ToArray();
        private int _next; // the first file not opened yet
        private int _taken; // the first file not handed to the load yet
        private int _uncommitted; // the first file whose group has not committed
        private bool _disposed;

        public Task<FileHead> HeadAsync(int index)
        {
            Task<FileHead> head;
            lock (_lock)
            {
                while (_next <= index) Open();
                head = _heads[index]!;
                _heads[index] = null;
                _taken = Math.Max(_taken, index + 1);
            }
            Pump();
            return head;
        }

        /// <summary>An opened file that the group before it did not take: the next group starts with it.</summary>
        public void PutBack(int index, FileHead head)
        {
            lock (_lock)
            {
                _heads[index] = Task.FromResult(head);
                _taken = index;
            }
        }

        public void Committed(int upTo)
        {
            lock (_lock) _uncommitted = upTo;
            Pump();
        }

        private void Pump()
        {
            lock (_lock)
            {
                while (!_disposed && _next < jobs.Count && _next - _taken < Math.Max(1, depth) && MayOpen(_next)) Open();
            }
        }

        /// <summary>The next file may open ahead: no file of its key waits to commit, and those opened ahead are small.</summary>
        private bool MayOpen(int index)
        {
            for (var i = _uncommitted; i < index; i++)
                if (jobs[i].Key == jobs[index].Key) return false;
            if (index == _taken) return true;
            long bytes = 0;
            for (var i = _taken; i < index; i++)
            {
                if (_sizes[i] < 0) return false;
                bytes += _sizes[i];
            }
            return bytes <= aheadBytes;
        }

        private void Open()
        {
            var index = _next++;
            _heads[index] = OpenAsync(index);
        }

        private async Task<FileHead> OpenAsync(int index)
        {
            // Not opened under the lock, which the continuation takes.
            await Task.Yield();
            var head = await pipeline.OpenAsync(jobs[index], ct);
            lock (_lock) _sizes[index] = head.Response?.ContentLength ?? -1;
            Pump();
            return head;
        }

        /// <summary>Files opened ahead that will not load (the run stopped): their responses are let go.</summary>
        public async ValueTask DisposeAsync()
        {
            List<Task<FileHead>> unused;
            lock (_lock)
            {
                _disposed = true;
                unused = _heads.OfType<Task<FileHead>>().ToList();
            }
            foreach (var head in unused) await CloseUnusedAsync(head);
        }
    }

    /// <summary>A file opened ahead that will not load (the run stopped): its response is let go, and its failure is moot.</summary>
    private static async Task CloseUnusedAsync(Task<FileHead> head)
    {
        try
        {
            (await head).Dispose();
        }
        catch (Exception)
        {
            // Cancelled, or failed looking up its ledger row: it was not going to load.
        }
    }

    /// <param name="opened">The file opened ahead (see <see cref="RunInOrderAsync"/>); null opens it here.</param>
    private async Task<FileOutcome> RunAsync(FileLoadJob job, Task<FileHead>? opened, IMaterializer materializer, Action<FileProgress> report,
        CancellationToken ct)
    {
        try
        {
            return await UpsertAsync(job, settings.CopyNewRowsIntoTable, opened, materializer, report, ct);
        }
        catch (Exception e) when (IsRepeatedKey(e))
        {
            await RejectWriter.ClearAsync(db, job.RunId, [job.Key], ct);
            return await UpsertAsync(job, copyNewRows: false, null, materializer, report, ct);
        }
    }

    private async Task<FileOutcome> UpsertAsync(FileLoadJob job, bool copyNewRows, Task<FileHead>? opened, IMaterializer materializer,
        Action<FileProgress> report, CancellationToken ct)
    {
        using var head = await (opened ?? OpenAsync(job, ct));
        await using var load = new StagedLoad(db, feeds, job.Feed, Options(replace: false, copyNewRows), Begun, ct);
        var staged = await StageAsync(job, head, load, skipIfLoaded: !job.ForceReload, materializer, report, ct);
        if (staged.Outcome is { } done) return done;
        return (await CommitAsync(load, [staged], replace: false, ct))[0];
    }

    /// <summary>
    /// A file's object opened: its GET answered (the body not yet read) and the ledger row of its version looked up,
    /// or why it cannot load.
    /// </summary>
    private sealed class FileHead(GetObjectRequest request) : IDisposable
    {
        public GetObjectRequest Request { get; } = request;
        public GetObjectResponse? Response { get; init; }
        public FileOutcome? Failed { get; init; }
        public string ETag => Response!.ETag.Trim('"');
        public string? Version => VersionOf(Response!.VersionId);
        public LedgerEntry? Loaded { get; init; }

        public void Dispose() => Response?.Dispose();
    }

    private async Task<FileHead> OpenAsync(FileLoadJob job, CancellationToken ct)
    {
        var request = new GetObjectRequest { BucketName = job.Bucket, Key = job.Key };
        GetObjectResponse response;
        var started = Stopwatch.GetTimestamp();
        try
        {
            if (job.Fetched is { } fetched) response = fetched.AsResponse();
            else
            {
                response = await job.S3.GetObjectAsync(request, ct);
                metrics.FilePhase("get", Stopwatch.GetElapsedTime(started));
            }
        }
        catch (Exception e) when (e is AmazonServiceException or HttpRequestException or IOException && !ct.IsCancellationRequested)
        {
            return new FileHead(request) { Failed = FileOutcome.Failed(S3Errors.Describe(e, job.Bucket, job.Key)) with { Fault = Faults.Classify(e) } };
        }
        try
        {
            started = Stopwatch.GetTimestamp();
            var loaded = job.ForceReload
                ? null
                : await LoadLedger.FindAsync(db, job.Bucket, job.Key, response.ETag.Trim('"'), VersionOf(response.VersionId), job.Feed.Id, ct);
            metrics.FilePhase("ledger", Stopwatch.GetElapsedTime(started));
            return new FileHead(request) { Response = response, Loaded = loaded };
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Truncate and upsert: the files of one feed replace its domain table, all in one transaction, so readers see
    /// the old rows or the new ones. If any file fails, nothing changes. If the table holds exactly the versions now
    /// in the bucket (the feed's last load was these files, each the version of its key loaded last), the load is
    /// skipped.
    /// </summary>
    public async Task<IReadOnlyList<FileOutcome>> ReplaceAsync(IReadOnlyList<FileLoadJob> jobs, IMaterializer materializer,
        Action<FileProgress> report, CancellationToken ct)
    {
        if (!jobs[0].ForceReload && await TableHoldsAsync(jobs, ct) is { } skipped) return skipped;
        try
        {
            // Only a single file: the rows of several are merged all together (below).
            return await ReplaceAsync(jobs, settings.CopyNewRowsIntoTable && jobs.Count == 1, materializer, report, ct);
        }
        catch (Exception e) when (IsRepeatedKey(e))
        {
            await RejectWriter.ClearAsync(db, jobs[0].RunId, jobs.Select(j => j.Key), ct);
            return await ReplaceAsync(jobs, copyNewRows: false, materializer, report, ct);
        }
    }

    private async Task<IReadOnlyList<FileOutcome>> ReplaceAsync(IReadOnlyList<FileLoadJob> jobs, bool copyNewRows, IMaterializer materializer,
        Action<FileProgress> report, CancellationToken ct)
    {
        // Several files' rows are merged all together, at the end, so that among equal rows the last file's is kept.
        var options = Options(replace: true, copyNewRows) with { MergeEveryRows = jobs.Count == 1 ? settings.MergeEveryRows : null };
        await using var load = new StagedLoad(db, feeds, jobs[0].Feed, options, Begun, ct);
        var staged = new List<StagedObject>();
        foreach (var job in jobs)
        {
            using var head = await OpenAsync(job, ct);
            var file = await StageAsync(job, head, load, skipIfLoaded: false, materializer, report, ct);
            if (file.Outcome is { } failed)
            {
                var others = $"not loaded: {job.SourceFile} failed, and a truncate load replaces the table with all its files or none";
                return jobs.Select(j => j == job ? failed : FileOutcome.Failed(others)).ToList();
            }
            staged.Add(file);
        }
        return await CommitAsync(load, staged, replace: true, ct);
    }

    /// <summary>
    /// Streams one object into the load. Returns the object's version and counts, or an outcome when the file
    /// ends here: skipped (the version of its key loaded last, when <paramref name="skipIfLoaded"/>) or failed (PGP
    /// key, S3, schema, corrupt file, threshold).
    /// </summary>
    private async Task<StagedObject> StageAsync(FileLoadJob job, FileHead head, StagedLoad load, bool skipIfLoaded, IMaterializer materializer,
        Action<FileProgress> report, CancellationToken ct)
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
                return Ended(job, FileOutcome.Failed($"{job.SourceFile}: PGP credential '{pgpId}' cannot be used: {e.Message}"));
            }
            if (keyring is null) return Ended(job, FileOutcome.Failed($"{job.SourceFile}: PGP credential '{pgpId}' does not exist"));
        }

        if (head.Failed is { } failed) return Ended(job, failed);
        var (request, response, etag, version) = (head.Request, head.Response!, head.ETag, head.Version);
        // Content loaded before, but followed by another version of the key since, loads again: the table holds the
        // later version's rows, and the bucket this one's.
        string? again = null;
        if (head.Loaded is { } loaded)
        {
            if (loaded.LoadedSince is { } since) again = LoadedAgain(job, etag, version, loaded, since);
            else if (skipIfLoaded) return new StagedObject(job, etag, version, new FileTotals(), Skipped(job, etag, version, loaded));
        }

        await using var body = new ResumableObjectStream(job.S3, request, response, s3Settings.ReadStallTimeout, s3Settings.MaxResumes);
        long? totalBytes = response.ContentLength >= 0 ? response.ContentLength : null;
        var totals = new FileTotals();
        try
        {
            await using var rejects = new RejectWriter(db, job.RunId, job.Key);
            var validation = new FileValidation(load, job);
            try
            {
                // Records are checked and encoded a tenth of a batch at a time, so few are alive when the GC runs;
                // the encoded parts are gathered again to be written as one batch.
                var checkRows = Math.Max(1, settings.BatchRows / 10);
                var started = Stopwatch.GetTimestamp();
                totals = await Source.From(() => FileRecords.ReadAsync(body, job.Settings, keyring, ct))
                    .Grouped(checkRows)
                    .SelectAsync(1, validation.ValidateAsync)
                    .Grouped((settings.BatchRows + checkRows - 1) / checkRows)
                    .Buffer(Math.Max(1, settings.MergeEveryRows / settings.BatchRows), OverflowStrategy.Backpressure)
                    .SelectAsync(1, parts => WriteBatchAsync(parts, load, rejects, ct))
                    // A stage buffers 16 elements by default: 16 batches of rows each, hundreds of MB for wide rows.
                    // The buffer above is sized for what is read while a merge runs.
                    .WithAttributes(Attributes.CreateInputBuffer(1, 1))
                    .RunAggregate(new FileTotals(), (sum, batch) =>
                    {
                        sum = sum.Add(batch) with { BytesRead = body.BytesRead };
                        report(new FileProgress(job.Ordinal, job.Key, body.BytesRead, totalBytes, sum.Read, sum.Rejected));
                        return sum;
                    }, materializer);
                await validation.FinishAsync();
                metrics.FilePhase("stream", Stopwatch.GetElapsedTime(started));
            }
            catch (Exception e) when (job.AllowEmpty == true && Inner(e) is EmptyFileException empty)
            {
                await validation.BeginIfNotBegunAsync();
                totals = new FileTotals { Empty = empty.Detail };
            }
            totals = totals with { BytesRead = body.BytesRead, Resumes = body.Resumes };

            // Each physical line of a rejected record counts, so a stray quote that folds rows into one reject
            // cannot hide them under the threshold; the measure is the lines of every record (not the header).
            var feed = load.Feed;
            if (totals.RejectedLines > 0 && totals.RejectedLines * 100m > feed.ErrorThresholdPercent * totals.Lines)
            {
                var share = $"{100m * totals.RejectedLines / totals.Lines:0.##}%";
                return new StagedObject(job, etag, version, totals, FileOutcome.Failed(
                    $"{job.SourceFile}: {totals.Rejected} of {totals.Read} rows rejected" +
                    (totals.RejectedLines == totals.Rejected && totals.Lines == totals.Read
                        ? $" ({share})"
                        : $", spanning {totals.RejectedLines} of the file's {totals.Lines} lines ({share})") +
                    $", above feed '{feed.Id}' error threshold of {feed.ErrorThresholdPercent}%; nothing from this file was loaded. " +
                    $"First: {totals.FirstReject!.Described}",
                    totals.BytesRead, totals.Read, totals.Rejected, etag));
            }
            return new StagedObject(job, etag, version, totals, null, again);
        }
        catch (Exception e) when (!ct.IsCancellationRequested && Describe(e, job) is { } message)
        {
            return new StagedObject(job, etag, version, totals,
                FileOutcome.Failed(message, body.BytesRead, totals.Read, totals.Rejected, etag) with { Fault = Faults.Classify(e) });
        }
    }

    private void Begun(TimeSpan duration) => metrics.FilePhase("begin", duration);

    private LoadOptions Options(bool replace, bool copyNewRows) => new(replace, copyNewRows, settings.MergeWorkMem, settings.MergeEveryRows);

    /// <summary>An existing or repeated key in a file COPYed into its table: the load is done again through the merge.</summary>
    private static bool IsRepeatedKey(Exception e) =>
        e is RepeatedKeyException || e is AggregateException { InnerExceptions.Count: 1 } wrapped && IsRepeatedKey(wrapped.InnerException!);

    private async Task<IReadOnlyList<FileOutcome>> CommitAsync(StagedLoad load, IReadOnlyList<StagedObject> files, bool replace, CancellationToken ct)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var merged = await load.Load!.MergeAsync(ct);
            var outcomes = files.Select(f => Loaded(f, merged.GetValueOrDefault(f.Job.SourceFile), replace)).ToList();
            await load.Load.CommitAsync(files.Select(f =>
                    (new LoadedObject(f.Job.Bucket, f.Job.Key, f.ETag, load.Feed.Id, f.Job.RunId, f.Version), f.Totals.Accepted, f.Totals.Rejected)),
                files.Zip(outcomes).SelectMany(f => f.First.Job.CommitWith?.Invoke(f.Second) ?? []), ct);
            metrics.FilePhase("commit", Stopwatch.GetElapsedTime(started));
            return outcomes;
        }
        catch (Exception e) when (!ct.IsCancellationRequested && Describe(e, files[0].Job) is { } message)
        {
            return files.Select(f => FileOutcome.Failed(message, f.Totals.BytesRead, f.Totals.Read, f.Totals.Rejected, f.ETag) with
            {
                Fault = Faults.Classify(e),
            }).ToList();
        }
    }

    private static FileOutcome Loaded(StagedObject f, MergeCounts merged, bool replace)
    {
        var (inserted, updated) = merged;
        var t = f.Totals;
        return new FileOutcome(FileStatus.Loaded, f.ETag, t.BytesRead, t.Read, inserted, updated, t.Rejected,
            (t.Empty is { } empty
                ? $"{f.Job.SourceFile}: the file is empty ({empty}); recorded as loaded with 0 rows, as its courier file entry allows (allowEmpty)"
                : $"{f.Job.SourceFile}: {t.Read} rows read, {inserted} inserted, {updated} updated, " +
                  $"{t.Accepted - inserted - updated} {(replace ? "superseded by newer rows" : "unchanged or older")}, {t.Rejected} rejected") +
            (t.Resumes > 0 ? $"; the download was resumed {t.Resumes} time(s) where a broken read left it" : "") +
            (f.LoadedAgain is { } again ? $"; {again}" : ""));
    }

    /// <returns>
    /// Skipped outcomes when the table holds exactly the versions now in the bucket: each file is the version of its
    /// key loaded last, and together they are the feed's last load (not fewer files, nor more); otherwise null.
    /// </returns>
    private async Task<IReadOnlyList<FileOutcome>?> TableHoldsAsync(IReadOnlyList<FileLoadJob> jobs, CancellationToken ct)
    {
        var lastLoad = await LoadLedger.LastLoadAsync(db, jobs[0].Feed.Id, ct);
        // A feed that never loaded nor skipped a file (its first load) holds nothing to keep: no object is looked at.
        if (lastLoad.Count == 0 && !await LoadLedger.AnyAsync(db, jobs[0].Feed.Id, ct)) return null;
        var outcomes = new List<FileOutcome>();
        var anyLoaded = false;
        foreach (var job in jobs)
        {
            string etag;
            string? version;
            try
            {
                var metadata = await job.S3.GetObjectMetadataAsync(job.Bucket, job.Key, ct);
                (etag, version) = (metadata.ETag.Trim('"'), VersionOf(metadata.VersionId));
            }
            catch (Exception e) when (e is AmazonServiceException or HttpRequestException && !ct.IsCancellationRequested)
            {
                return null; // the load itself reports the failure, with GetObject's fuller error
            }
            if (await LoadLedger.FindAsync(db, job.Bucket, job.Key, etag, version, job.Feed.Id, ct) is not { LoadedSince: null } loaded) return null;
            // A version skipped by request was never loaded: passing over it again is what the user asked for.
            if (!loaded.Skipped && lastLoad.RemoveAll(v => v.Is(job.Bucket, job.Key, etag, version)) == 0) return null;
            anyLoaded |= !loaded.Skipped;
            outcomes.Add(Skipped(job, etag, version, loaded));
        }
        return lastLoad.Count == 0 || !anyLoaded ? outcomes : null;
    }

    private static FileOutcome Skipped(FileLoadJob job, string etag, string? version, LedgerEntry loaded)
    {
        var which = $"{job.SourceFile} ({Version(etag, version)})";
        return new(FileStatus.Skipped, etag, Message: loaded.Skipped
            ? $"{which} failed in run {loaded.RunId} and was skipped by request at {loaded.LoadedAt:u}; use forceReload to load it again."
            : $"{which} was loaded into feed '{job.Feed.Id}' by run {loaded.RunId} at {loaded.LoadedAt:u} ({loaded.RowsLoaded} rows); " +
              "nothing new to load. Use forceReload to load it again.");
    }

    private static string LoadedAgain(FileLoadJob job, string etag, string? version, LedgerEntry earlier, LedgerEntry since) =>
        $"content of an earlier version, loaded again because a later version was {(since.Skipped ? "skipped by request" : "loaded")} since: " +
        $"{Version(etag, version)} was loaded by run {earlier.RunId} at {earlier.LoadedAt:u}, and another version of {job.Key} " +
        $"{(since.Skipped ? "skipped" : "loaded")} by run {since.RunId} at {since.LoadedAt:u}";

    private static string Version(string etag, string? version) => version is null ? $"ETag {etag}" : $"version {version}";

    private static StagedObject Ended(FileLoadJob job, FileOutcome outcome) => new(job, "", null, new FileTotals(), outcome);

    /// <summary>An unversioned bucket answers no version id, or "null" for objects written before versioning was on.</summary>
    private static string? VersionOf(string? versionId) => versionId is { Length: > 0 } v && v != "null" ? v : null;

    private static async Task<BatchCounts> WriteBatchAsync(IEnumerable<ValidatedBatch> parts, StagedLoad load, RejectWriter rejects, CancellationToken ct)
    {
        var accepted = parts.SelectMany(p => p.Accepted).ToList();
        var rejected = parts.SelectMany(p => p.Rejected).ToList();
        try
        {
            await load.WriteAsync(accepted);
        }
        finally
        {
            foreach (var rows in accepted) rows.Release();
        }
        await rejects.WriteAsync(rejected, ct);
        return new BatchCounts(accepted.Sum(rows => rows.Rows), rejected.Count, rejected.FirstOrDefault(), parts.Sum(p => p.Lines), rejected.Sum(r => r.Lines));
    }

    /// <summary>The exception a stage threw: a stage's task that faults reaches the graph's result wrapped.</summary>
    private static Exception Inner(Exception e) => e is AggregateException { InnerExceptions.Count: 1 } wrapped ? Inner(wrapped.InnerException!) : e;

    /// <summary>Expected failures of a file, as the message the run shows; null for anything else, which propagates.</summary>
    private static string? Describe(Exception e, FileLoadJob job) => e switch
    {
        AggregateException { InnerExceptions.Count: 1 } wrapped => Describe(wrapped.InnerException!, job),
        EmptyFileException empty => $"{job.SourceFile}: {empty.Message}; {WhyNotZeroRows(job)}" +
            (job.AllowEmpty is null ? "" : " If the source sends an empty file when it has no data, set \"allowEmpty\": true on the courier's file entry."),
        SchemaMismatchException or UnreadableFileException => $"{job.SourceFile}: {e.Message}",
        CsvHelperException => $"{job.SourceFile}: malformed CSV: {e.Message.Split('\n')[0]}",
        AmazonServiceException or HttpRequestException or IOException => S3Errors.Describe(e, job.Bucket, job.Key),
        PostgresException pg => $"{job.SourceFile}: PostgreSQL refused the load: {pg.SqlState}: {pg.MessageText}",
        NpgsqlException => $"{job.SourceFile}: PostgreSQL connection failed: {e.Message}",
        _ => null,
    };

    /// <summary>Why an empty object is not taken for a file of 0 rows: what such a file of its format still has.</summary>
    private static string WhyNotZeroRows(FileLoadJob job) => job.Settings.Format switch
    {
        _ when job.Settings.IsDelimited && job.Settings.HasHeader => $"feed '{job.Feed.Id}' expects a header row, which a file without rows still has.",
        FileFormat.Avro => "an Avro file without rows still has its header and schema.",
        FileFormat.Parquet => "a Parquet file without rows still has its schema.",
        FileFormat.Json => "a JSON file without rows is an empty array, [].",
        _ => "an empty object is as likely a failed export as a day without data.",
    };

    /// <summary>An object staged into a load, or ended early with <see cref="Outcome"/>.</summary>
    /// <param name="LoadedAgain">Why content the ledger has loads again (see <see cref="LoadedAgain(FileLoadJob, string, string?, LedgerEntry, LedgerEntry)"/>).</param>
    private sealed record StagedObject(FileLoadJob Job, string ETag, string? Version, FileTotals Totals, FileOutcome? Outcome, string? LoadedAgain = null);

    private sealed record BatchCounts(long Accepted, long Rejected, RejectedRow? FirstReject, long Lines, long RejectedLines);

    /// <param name="Lines">The physical lines of the file's records, and of its rejected ones: what the error threshold compares.</param>
    /// <param name="Empty">Set when the file was empty and its courier entry allows that: what was empty.</param>
    private sealed record FileTotals(long Accepted = 0, long Rejected = 0, RejectedRow? FirstReject = null, long BytesRead = 0, int Resumes = 0,
        long Lines = 0, long RejectedLines = 0, string? Empty = null)
    {
        public long Read => Accepted + Rejected;

        public FileTotals Add(BatchCounts batch) => this with
        {
            Accepted = Accepted + batch.Accepted, Rejected = Rejected + batch.Rejected, FirstReject = FirstReject ?? batch.FirstReject,
            Lines = Lines + batch.Lines, RejectedLines = RejectedLines + batch.RejectedLines,
        };
    }
}
