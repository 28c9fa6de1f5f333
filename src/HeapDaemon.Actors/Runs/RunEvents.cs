namespace HeapDaemon.Actors.Runs;

/// <summary>Published on the actor system's event stream when a courier's run ends, whatever its outcome (Stitch listens).</summary>
public sealed record CourierRunEnded(string CourierId, Guid RunId, RunStatus Status);
