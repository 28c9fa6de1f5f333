using Akka.Actor;
using HeapDaemon.Actors.Runs;

namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// One on every node: passes the node's <see cref="CourierRunEnded"/> events (published on its own event stream, where
/// the courier's run actor lives) to the cluster's <see cref="StitchActor"/> through its singleton proxy, which holds
/// them while the singleton moves.
/// </summary>
public sealed class StitchLoadRelay : ReceiveActor
{
    public StitchLoadRelay(IActorRef stitch) => Receive<CourierRunEnded>(ended => stitch.Tell(ended));

    public static Props Props(IActorRef stitch) => Akka.Actor.Props.Create(() => new StitchLoadRelay(stitch));

    protected override void PreStart() => Context.System.EventStream.Subscribe(Self, typeof(CourierRunEnded));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);
}
