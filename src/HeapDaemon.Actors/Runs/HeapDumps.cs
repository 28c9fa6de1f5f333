namespace HeapDaemon.Actors.Runs;

// What a Heap courier's runs applied, shown with the courier (CourierView): here, below both Couriers and Heap.

/// <summary>A dump that failed or was skipped.</summary>
/// <param name="RunId">The run that last failed on it.</param>
/// <param name="At">When it failed, or was skipped.</param>
public sealed record HeapDumpRecord(long DumpId, string ManifestKey, Guid? RunId, string? Message, DateTimeOffset At);

/// <param name="Blocking">Dumps that failed and wait (with every later dump) until they apply or are skipped.</param>
public sealed record HeapDumps(int Applied, long? LastApplied, IReadOnlyList<HeapDumpRecord> Blocking, IReadOnlyList<HeapDumpRecord> Skipped);
