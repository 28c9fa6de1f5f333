using System.Collections.Immutable;
using Akka.Actor;
using Akka.Event;
using Akka.Hosting;
using Akka.Pattern;
using Akka.Persistence;
using HeapDaemon.Actors.Ids;
using HeapDaemon.Actors.Retries;
using static HeapDaemon.Actors.Couriers.CourierCommands;
using static HeapDaemon.Actors.Couriers.CourierReplies;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// Knows which couriers exist (persisted), keeps one <see cref="CourierActor"/> per courier and routes
/// <see cref="ICourierMessage"/>s to it. Starts every courier on recovery, so interrupted runs resume without
/// waiting for a request. Each courier lives under Akka's <see cref="BackoffSupervisor"/>: a courier stops when its
/// journal fails (persistence stops a persistent actor rather than restart it), and comes back after a backoff that
/// grows while it keeps failing, so a database outage is not hammered; meanwhile what is sent to it is answered with
/// <see cref="CourierRestartingException"/>.
/// </summary>
/// <remarks>
/// Every courier configuration passes through here, so here the credentials a configuration names are checked to
/// exist, and a credential or a feed is deleted only when no courier uses it. One such check runs at a time, and
/// configurations and deletions that arrive meanwhile wait (stashed): a courier cannot take up a credential or a feed
/// between the check that it is unused and its deletion.
/// </remarks>
public sealed class CourierRegistryActor : ReceivePersistentActor
{
    private static readonly ExponentialBackoff CourierRestarts = new(TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(2));

    /// <summary>A courier that stays up this long is healthy again: its next crash starts the backoff over.</summary>
    private static readonly TimeSpan StableAfter = TimeSpan.FromMinutes(5);

    public sealed record CourierRegistered(string CourierId) : IPersisted;

    public sealed record CourierUnregistered(string CourierId) : IPersisted;

    /// <summary>From a courier that persisted its deletion: forget it.</summary>
    public sealed record CourierRetired(string CourierId);

    private sealed record ReferencesChecked(ConfigureCourier Configure, IActorRef ReplyTo, IReadOnlyList<string> Errors);

    /// <summary>A check or deletion ended: its answer, sent before the waiting messages are taken up.</summary>
    private sealed record CheckEnded(IActorRef ReplyTo, object Reply);

    private readonly CourierServices _services;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, IActorRef> _children = new(StringComparer.Ordinal);
    private ImmutableSortedSet<string> _ids = ImmutableSortedSet<string>.Empty.WithComparer(StringComparer.Ordinal);
    private long _incarnation;

    /// <summary>A configuration's credential check, or a credential or feed deletion, is in flight: configurations and deletions wait in the stash.</summary>
    private bool _checking;

    public CourierRegistryActor(CourierServices services)
    {
        _services = services;

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
            else if (_ids.Contains(configure.CourierId)) Child(configure.CourierId).Tell(configure, replyTo);
            else
                Persist(new CourierRegistered(configure.CourierId), e =>
                {
                    _ids = _ids.Add(e.CourierId);
                    Child(e.CourierId).Tell(configure, replyTo);
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
        Command<CourierRetired>(retired => Persist(new CourierUnregistered(retired.CourierId), e =>
        {
            _ids = _ids.Remove(e.CourierId);
            if (_children.Remove(e.CourierId, out var child))
            {
                Context.Unwatch(child);
                Context.Stop(child);
            }
        }));
        // A courier's supervisor stops only when the registry stops it; one that stopped otherwise is started again.
        Command<Terminated>(terminated =>
        {
            var id = _children.FirstOrDefault(c => c.Value.Equals(terminated.ActorRef)).Key;
            if (id is null) return;
            _children.Remove(id);
            _log.Warning("The supervisor of courier {CourierId} stopped unexpectedly; starting it again", id);
            if (_ids.Contains(id)) Child(id);
        });
        Command<ICourierMessage>(message =>
        {
            if (_ids.Contains(message.CourierId)) Child(message.CourierId).Forward(message);
            else Sender.Tell(new CourierNotFound(message.CourierId));
        });
    }

    public override string PersistenceId => PersistenceIds.CourierRegistry;

    public static Props Props(CourierServices services) => Akka.Actor.Props.Create(() => new CourierRegistryActor(services));

    protected override void OnReplaySuccess()
    {
        foreach (var id in _ids) Child(id);
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
    /// Runs a deletion off the actor, given every courier (its supervisor, which answers for it, or says that it is
    /// restarting), and answers the sender; configurations and other deletions wait until it ends.
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
        var couriers = _ids.Select(id => (id, Child(id))).ToList();
        delete(couriers).PipeTo(Self,
            success: reply => new CheckEnded(replyTo, reply),
            failure: e => new CheckEnded(replyTo, new Status.Failure(e)));
    }

    private void EndCheck()
    {
        _checking = false;
        Stash.UnstashAll();
    }

    /// <summary>
    /// The courier's supervisor, which forwards to the courier. Its name carries an incarnation number: a courier
    /// deleted and created again gets a fresh name while the old one may still be stopping.
    /// </summary>
    private IActorRef Child(string courierId)
    {
        if (_children.TryGetValue(courierId, out var child)) return child;
        var supervised = Backoff.OnStop(CourierActor.Props(courierId, _services), "courier", CourierRestarts.Min, CourierRestarts.Max,
                CourierRestarts.RandomFactor, maxNrOfRetries: -1)
            .WithAutoReset(StableAfter)
            .WithReplyWhileStopped(new Status.Failure(new CourierRestartingException(courierId)));
        child = Context.ActorOf(BackoffSupervisor.Props(supervised), Uri.EscapeDataString($"courier-{courierId}-{_incarnation++}"));
        Context.Watch(child);
        _children[courierId] = child;
        return child;
    }
}

/// <summary>The courier is stopped, after its journal failed, and comes back after a backoff; until then it answers with this.</summary>
public sealed class CourierRestartingException(string courierId)
    : Exception($"courier '{courierId}' is restarting after a failure (its journal could not be read or written); try again shortly");

public static class CourierHostingExtensions
{
    /// <summary>The courier registry, its couriers and their runs, registered as <see cref="CourierRegistryActor"/>.</summary>
    public static AkkaConfigurationBuilder AddCourierActors(this AkkaConfigurationBuilder builder) =>
        builder
            .WithCustomSerializer("heapd-journal", [typeof(IPersisted)], system => new JournalSerializer(system))
            .WithActors((system, registry, resolver) =>
            {
                var services = resolver.GetService<CourierServices>();
                registry.Register<CourierRegistryActor>(system.ActorOf(CourierRegistryActor.Props(services), "couriers"));
            });
}
