namespace HeapDaemon.Actors.Stitch;

public static class StitchCommands
{
    /// <summary>Asks for a stitch; while one runs, at most one more waits (a full request makes the waiting one full).</summary>
    public sealed record StartStitch(StitchKind Kind, StitchTrigger Trigger);

    public sealed record GetStitchProgress(Guid RunId);

    /// <summary>Stops a queued or running stitch; the previous result stays as it was.</summary>
    public sealed record CancelStitch(Guid RunId);

    /// <summary>The settings were saved: the actor reads them again (schedule, loads trigger).</summary>
    public sealed class SettingsChanged
    {
        public static readonly SettingsChanged Instance = new();
        private SettingsChanged() { }
    }
}

public static class StitchReplies
{
    /// <param name="Queued">true when it waits behind the running stitch (possibly a request made earlier and joined).</param>
    public sealed record StitchAccepted(Guid RunId, bool Queued);

    public sealed record StitchProgressReply(Guid RunId, StitchProgress? Progress);

    public sealed record StitchCancelling(Guid RunId);

    public sealed record StitchNotActive(Guid RunId);
}
