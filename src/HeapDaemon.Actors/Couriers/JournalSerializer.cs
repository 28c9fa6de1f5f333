using System.Collections.Frozen;
using System.Runtime.Serialization;
using System.Text.Json;
using Akka.Actor;
using Akka.Serialization;
using HeapDaemon.Actors.Json;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// Writes journal events and snapshots as JSON named by their type, so the journal stays readable with psql and a
/// renamed namespace does not orphan old events.
/// </summary>
public sealed class JournalSerializer(ExtendedActorSystem system) : SerializerWithStringManifest(system)
{
    public const int SerializerId = 1_402_001;

    private static readonly FrozenDictionary<string, Type> Types = typeof(IPersisted).Assembly.GetTypes()
        .Where(t => typeof(IPersisted).IsAssignableFrom(t) && !t.IsInterface && !t.IsAbstract)
        .ToFrozenDictionary(t => t.Name);

    public override int Identifier => SerializerId;

    public override string Manifest(object o) => o.GetType().Name;

    public override byte[] ToBinary(object obj) => JsonSerializer.SerializeToUtf8Bytes(obj, obj.GetType(), HeapJson.Options);

    public override object FromBinary(byte[] bytes, string manifest) =>
        Types.TryGetValue(manifest, out var type)
            ? JsonSerializer.Deserialize(bytes, type, HeapJson.Options)!
            : throw new SerializationException($"unknown journal manifest '{manifest}'");
}
