using System.Collections.Frozen;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// The courier kinds the daemon was given (every <see cref="ICourierKind"/> registered with DI), by kind: the one place
/// where a configuration's kind chooses the class that checks and runs it.
/// </summary>
public sealed class CourierKinds(IEnumerable<ICourierKind> kinds)
{
    private readonly FrozenDictionary<CourierKind, ICourierKind> _kinds = kinds.ToFrozenDictionary(k => k.Kind);

    public IEnumerable<ICourierKind> All => _kinds.Values;

    /// <exception cref="InvalidOperationException">no class of that kind is registered.</exception>
    public ICourierKind this[CourierKind kind] =>
        _kinds.TryGetValue(kind, out var courierKind) ? courierKind : throw new InvalidOperationException($"no courier kind '{kind}' is registered");

    /// <summary>Every problem of a configuration: those any courier can have, then those of its kind.</summary>
    public IReadOnlyList<string> Validate(CourierConfig config) =>
        [.. config.Validate(), .. _kinds.TryGetValue(config.Kind, out var kind) ? kind.Validate(config) : [$"kind '{config.Kind}' is not available"]];
}
