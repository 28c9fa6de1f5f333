using System.Collections.Immutable;
using Akka.Actor;
using Akka.Hosting;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Persistence;
using HeapDaemon.Actors.Ids;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// Knows which couriers exist (persisted) and routes <see cref="ICourierMessage"/>s of those to them, through the
/// courier shard region: each courier is a sharded entity (<see cref="CourierActor.Entity"/>), on one node of the cluster
/// at a time, remembered so it runs somewhere whenever the cluster does. The registry itself is a cluster singleton, so
/// the list of couriers and the checks below have one writer however many nodes there are. It wakes every courier on
/// recovery, so interrupted runs resume without waiting for a request.
/// </summary>
/// <remarks>
/// Every courier configuration passes through here, so here the credentials a configuration names are checked to
/// exist, and a credential or a feed is deleted only when no courier uses it. One such check runs at a time, and
/// configurations and deletions that arrive meanwhile wait (stashed): a courier cannot take up a credential or a feed
/// between the check that it is unused and its deletion.
/// </remarks>
public sealed class CourierRegistryActor : ReceivePersistentActor
{
    public sealed record CourierRegistered(string CourierId) : IPersisted;

    public sealed record CourierUnregistered(string CourierId) : IPersisted;

    /// <summary>From a courier that persisted its deletion: forget it.</summary>
    public sealed record CourierRetired(string CourierId);

    private sealed record ReferencesChecked(ConfigureCourier Configure, IActorRef ReplyTo, IReadOnlyList<string> Errors);

    /// <summary>A check or deletion ended: its answer, sent before the waiting messages are taken up.</summary>
    private sealed record CheckEnded(IActorRef ReplyTo, object Reply);

    private readonly CourierServices _services;

    /// <summary>The courier shard region, which starts a courier on the node its shard lives on and passes messages to it.</summary>
    private readonly IActorRef _couriers;

    private ImmutableSortedSet<string> _ids = ImmutableSortedSet<string>.Empty.WithComparer(StringComparer.Ordinal);

    /// <summary>A configuration's credential check, or a credential or feed deletion, is in flight: configurations and deletions wait in the stash.</summary>
    private bool _checking;

    public CourierRegistryActor(CourierServices services, IActorRef couriers)
    {
        _services = services;
        _couriers = couriers;

        Recover<CourierRegistered>(e => _ids = _ids.Add(e.CourierId));
        Recover<CourierUnregistered>(e => _ids = _ids.Remove(e.CourierId));

        Command<ConfigureCourier>(configure =>
        {
            if (_checking)
            {
                Stash.Stash();
                return;
            }
            var exists = _ids.Contains(configure.CourierId);
            if (configure.Create && exists) Sender.Tell(new CourierExists(configure.CourierId));
            else if (!configure.Create && !exists) Sender.Tell(new CourierNotFound(configure.CourierId));
            else CheckCredentials(configure);
        });
        Command<ReferencesChecked>(checkedRefs =>
        {
            var (configure, replyTo, errors) = checkedRefs;
            if (errors.Count > 0) replyTo.Tell(new ConfigurationRefused(errors));
            // Asked again: another configuration of this id may have been handled while this one was checked.
            else if (configure.Create && _ids.Contains(configure.CourierId)) replyTo.Tell(new CourierExists(configure.CourierId));
            else if (!configure.Create && !_ids.Contains(configure.CourierId)) replyTo.Tell(new CourierNotFound(configure.CourierId));
            else if (_ids.Contains(configure.CourierId)) _couriers.Tell(configure, replyTo);
            else
                Persist(new CourierRegistered(configure.CourierId), e =>
                {
                    _ids = _ids.Add(e.CourierId);
                    _couriers.Tell(configure, replyTo);
                });
            EndCheck();
        });
        Command<DeleteCredential>(delete =>
            DeleteIfUnused(couriers => ReferenceRemoval.DeleteCredentialIfUnusedAsync(delete.CredentialId, couriers, _services)));
        Command<DeleteFeed>(delete =>
            DeleteIfUnused(couriers => ReferenceRemoval.DeleteFeedIfUnusedAsync(delete, couriers, _services)));
        Command<CheckEnded>(ended =>
        {
            ended.ReplyTo.Tell(ended.Reply);
            EndCheck();
        });
        Command<ListCouriers>(_ => Sender.Tell(new CourierIds(_ids)));
        Command<CourierRetired>(retired => Persist(new CourierUnregistered(retired.CourierId), e => _ids = _ids.Remove(e.CourierId)));
        Command<ICourierMessage>(message =>
        {
            if (_ids.Contains(message.CourierId)) _couriers.Forward(message);
            else Sender.Tell(new CourierNotFound(message.CourierId));
        });
    }

    public override string PersistenceId => PersistenceIds.CourierRegistry;

    public static Props Props(CourierServices services, IActorRef couriers) =>
        Akka.Actor.Props.Create(() => new CourierRegistryActor(services, couriers));

    protected override void OnReplaySuccess()
    {
        foreach (var id in _ids) _couriers.Tell(new WakeCourier(id));
    }

    /// <summary>Checks, off the actor, that the credentials the configuration names exist and are of their kind.</summary>
    private void CheckCredentials(ConfigureCourier configure)
    {
        _checking = true;
        var replyTo = Sender;
        var uses = configure.Config.CredentialUses().ToList();
        _services.Credentials.KindsAsync(uses.Select(u => u.CredentialId), CancellationToken.None).PipeTo(Self,
            success: kinds => new ReferencesChecked(configure, replyTo, uses
                .Where(u => kinds.GetValueOrDefault(u.CredentialId) != u.Kind)
                .Select(u => kinds.TryGetValue(u.CredentialId, out var kind)
                    ? $"{u.Where}: credential '{u.CredentialId}' is a {kind} credential, not {u.Kind}"
                    : u.Kind == "pgp" ? $"PGP credential '{u.CredentialId}' does not exist" : $"credential '{u.CredentialId}' does not exist")
                .Distinct().ToList()),
            failure: e => new CheckEnded(replyTo, new Status.Failure(e)));
    }

    /// <summary>
    /// Runs a deletion off the actor, given every courier (reached through the shard region; its supervisor answers for
    /// it, or says that it is restarting), and answers the sender; configurations and other deletions wait until it ends.
    /// </summary>
    private void DeleteIfUnused(Func<IReadOnlyList<(string Id, IActorRef Courier)>, Task<object>> delete)
    {
        if (_checking)
        {
            Stash.Stash();
            return;
        }
        _checking = true;
        var replyTo = Sender;
        var couriers = _ids.Select(id => (id, _couriers)).ToList();
        delete(couriers).PipeTo(Self,
            success: reply => new CheckEnded(replyTo, reply),
            failure: e => new CheckEnded(replyTo, new Status.Failure(e)));
    }

    private void EndCheck()
    {
        _checking = false;
        Stash.UnstashAll();
    }
}

/// <summary>The courier is stopped, after its journal failed, and comes back after a backoff; until then it answers with this.</summary>
public sealed class CourierRestartingException(string courierId)
    : Exception($"courier '{courierId}' is restarting after a failure (its journal could not be read or written); try again shortly");

public static class CourierHostingExtensions
{
    /// <summary>The shard region's name, under <c>/system/sharding/</c> on every node.</summary>
    public const string RegionName = "couriers";

    /// <summary>Shards couriers are spread over; a node holds whole shards. Fixed for the life of a cluster's journal.</summary>
    private const int Shards = 32;

    /// <summary>
    /// Couriers as sharded entities, remembered in the SQL journal (<see cref="CourierActor.Entity"/>), and the courier
    /// registry as a cluster singleton that routes to them (<see cref="CourierRegistryActor"/>). Needs the cluster.
    /// </summary>
    public static AkkaConfigurationBuilder AddCourierActors(this AkkaConfigurationBuilder builder) =>
        builder
            .WithCustomSerializer("heapd-journal", [typeof(IPersisted)], system => new JournalSerializer(system))
            .WithShardRegion<CourierActor>(RegionName,
                (_, _, resolver) => courierId => CourierActor.Entity(courierId, resolver.GetService<CourierServices>()),
                HashCodeMessageExtractor.Create(Shards, message => message is ICourierMessage courier ? courier.CourierId : null),
                new ShardOptions
                {
                    // Remembered: a courier runs somewhere whenever the cluster runs, and starts again on another node
                    // when its node goes. Sharding's own state is in the journal too, durable across a whole-cluster restart.
                    RememberEntities = true,
                    RememberEntitiesStore = RememberEntitiesStore.Eventsourced,
                    StateStoreMode = StateStoreMode.Persistence,
                })
            .WithSingleton<CourierRegistryActor>("courier-registry",
                (_, registry, resolver) => CourierRegistryActor.Props(resolver.GetService<CourierServices>(), registry.Get<CourierActor>()),
                new ClusterSingletonOptions(), createProxyToo: true);
}
