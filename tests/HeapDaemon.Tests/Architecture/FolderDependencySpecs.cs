using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using HeapDaemon.Actors.Couriers;
using Xunit;

namespace HeapDaemon.Tests.Architecture;

/// <summary>
/// The folders of src/HeapDaemon.Actors do not import each other in a circle. What counts is what the compiled
/// assembly uses, not the using directives: a type of one folder names a type of another in a signature, a base type,
/// a local, or any instruction of a method body (lambdas and async methods included, as their compiler-made types are
/// nested in the type that wrote them). A using directive misses a fully qualified name, and code of a sub-namespace
/// sees its parent's types with no directive at all. Since every file's namespace is its folder (checked below), the
/// namespaces' graph is the folders' graph.
/// </summary>
public sealed partial class FolderDependencySpecs
{
    private const string Root = "HeapDaemon.Actors";

    private static readonly Assembly Actors = typeof(CourierActor).Assembly;

    [Fact]
    public void Every_source_file_declares_the_namespace_of_its_folder()
    {
        var source = Path.Combine(RepositoryRoot(), "src", Root);
        var wrong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(source, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}") &&
                                 !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}")))
        {
            var folder = Path.GetRelativePath(source, Path.GetDirectoryName(file)!);
            var expected = folder == "." ? Root : $"{Root}.{folder.Replace(Path.DirectorySeparatorChar, '.')}";
            var declared = NamespaceDeclaration().Matches(File.ReadAllText(file)).Select(m => m.Groups[1].Value).ToList();
            if (declared.Count == 0 || declared.Any(d => d != expected))
                wrong.Add($"{Path.GetRelativePath(source, file)} declares {(declared.Count == 0 ? "no namespace" : string.Join(", ", declared))}, not {expected}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [Fact]
    public void No_folder_of_HeapDaemon_Actors_depends_on_itself_through_other_folders()
    {
        var graph = FolderGraph();
        Assert.NotEmpty(graph);
        var cycles = Cycles(graph);
        Assert.True(cycles.Count == 0, $"the folders of src/{Root} import each other in a circle:\n" + string.Join("\n", cycles.Select(c =>
            $"{string.Join(", ", c.Folders)} reach each other; for one, {string.Join(" -> ", c.Cycle)}:\n" +
            string.Join("\n", c.Cycle.Zip(c.Cycle.Skip(1), (from, to) => $"  {graph[from][to]}")))) +
            "\nMove what both folders need into a folder of its own, or turn the edge around (an interface the lower folder owns).");
    }

    [Fact]
    public void The_cycle_finder_names_each_circle_of_folders_and_passes_a_graph_without_one()
    {
        static Dictionary<string, Dictionary<string, string>> Graph(params (string From, string To)[] edges) =>
            edges.GroupBy(e => e.From).ToDictionary(g => g.Key, g => g.ToDictionary(e => e.To, e => "T"));

        Assert.Empty(Cycles(Graph(("Couriers", "Runs"), ("Heap", "Couriers"), ("Heap", "Runs"))));
        var one = Assert.Single(Cycles(Graph(("Couriers", "Heap"), ("Heap", "Couriers"), ("Heap", "Runs"))));
        Assert.Equal(["Couriers", "Heap"], one.Folders);
        Assert.Equal(["Couriers", "Heap", "Couriers"], one.Cycle);
        var two = Cycles(Graph(("Feeds", "Loading"), ("Loading", "Formats"), ("Formats", "Feeds"), ("Formats", "Pgp"), ("Pgp", "Streams"), ("Streams", "Pgp")));
        Assert.Equal([["Feeds", "Formats", "Loading"], ["Pgp", "Streams"]], two.Select(c => c.Folders));
        Assert.Equal([["Feeds", "Loading", "Formats", "Feeds"], ["Pgp", "Streams", "Pgp"]], two.Select(c => c.Cycle));
    }

    [Fact]
    public void HeapDaemon_Actors_uses_nothing_of_ASP_NET_Core()
    {
        var http = Actors.GetReferencedAssemblies().Where(a => a.Name!.StartsWith("Microsoft.AspNetCore", StringComparison.Ordinal)).ToList();
        Assert.True(http.Count == 0, $"{Root} references {string.Join(", ", http.Select(a => a.Name))}: HTTP belongs to src/HeapDaemon");
    }

    /// <summary>For each folder (namespace below <see cref="Root"/>), the folders it uses, each with one type that shows the use.</summary>
    internal static Dictionary<string, Dictionary<string, string>> FolderGraph()
    {
        var graph = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var type in Actors.GetTypes())
        {
            if (Folder(type) is not { } from) continue;
            var edges = graph.TryGetValue(from, out var known) ? known : graph[from] = new(StringComparer.Ordinal);
            foreach (var used in UsedTypes(type))
                if (Folder(used) is { } to && to != from)
                    edges.TryAdd(to, $"{Name(type)} uses {Name(used)}");
        }
        return graph;
    }

    /// <summary>
    /// Each set of folders that reach each other (Tarjan's strongly connected components), with one circle through some
    /// of them (its first folder repeated at its end).
    /// </summary>
    internal static List<(List<string> Folders, List<string> Cycle)> Cycles(Dictionary<string, Dictionary<string, string>> graph)
    {
        var (index, low) = (new Dictionary<string, int>(StringComparer.Ordinal), new Dictionary<string, int>(StringComparer.Ordinal));
        var stack = new List<string>();
        var components = new List<HashSet<string>>();
        foreach (var node in graph.Keys.Order(StringComparer.Ordinal))
            if (!index.ContainsKey(node)) Connect(node);
        return components.Select(c => (c.Order(StringComparer.Ordinal).ToList(), CycleWithin(c, graph)))
            .OrderBy(c => c.Item1[0], StringComparer.Ordinal).ToList();

        void Connect(string node)
        {
            index[node] = low[node] = index.Count;
            stack.Add(node);
            foreach (var next in Next(graph, node))
            {
                if (!index.ContainsKey(next))
                {
                    Connect(next);
                    low[node] = Math.Min(low[node], low[next]);
                }
                else if (stack.Contains(next))
                {
                    low[node] = Math.Min(low[node], index[next]);
                }
            }
            if (low[node] != index[node]) return;
            var component = stack[stack.IndexOf(node)..];
            stack.RemoveRange(stack.IndexOf(node), component.Count);
            if (component.Count > 1) components.Add([.. component]);
        }
    }

    /// <summary>A circle through the folders of one component, found by walking from its first folder until a folder repeats.</summary>
    private static List<string> CycleWithin(HashSet<string> component, Dictionary<string, Dictionary<string, string>> graph)
    {
        var path = new List<string> { component.Order(StringComparer.Ordinal).First() };
        while (true)
        {
            var next = Next(graph, path[^1]).First(component.Contains);
            if (path.IndexOf(next) is var seen and >= 0) return [.. path[seen..], next];
            path.Add(next);
        }
    }

    private static IEnumerable<string> Next(Dictionary<string, Dictionary<string, string>> graph, string node) =>
        graph.TryGetValue(node, out var edges) ? edges.Keys.Order(StringComparer.Ordinal) : [];

    /// <summary>The folder of a type of HeapDaemon.Actors ("Formats.Inference"; "" for the root); null for any other type.</summary>
    private static string? Folder(Type type)
    {
        while (type.HasElementType) type = type.GetElementType()!;
        if (type.Assembly != Actors || type.Namespace is not { } ns) return null;
        return ns == Root ? "(root)" : ns.StartsWith(Root + ".", StringComparison.Ordinal) ? ns[(Root.Length + 1)..] : null;
    }

    private static string Name(Type type) => type.DeclaringType is { } outer ? $"{Name(outer)}.{type.Name}" : $"{type.Namespace}.{type.Name}";

    private const BindingFlags Declared = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    /// <summary>Every type a type names: in its declaration, its members' signatures, its methods' locals and instructions.</summary>
    private static IEnumerable<Type> UsedTypes(Type type)
    {
        var used = new List<Type>();
        void Add(Type? t)
        {
            if (t is null) return;
            if (t.HasElementType) { Add(t.GetElementType()); return; }
            if (t.IsGenericParameter) return;
            used.Add(t.IsGenericType ? t.GetGenericTypeDefinition() : t);
            if (t.IsGenericType) foreach (var argument in t.GetGenericArguments()) Add(argument);
        }
        Add(type.BaseType);
        foreach (var i in type.GetInterfaces()) Add(i);
        foreach (var a in type.GetCustomAttributesData()) Add(a.AttributeType);
        foreach (var field in type.GetFields(Declared)) Add(field.FieldType);
        foreach (var property in type.GetProperties(Declared)) Add(property.PropertyType);
        foreach (var method in type.GetMethods(Declared).Cast<MethodBase>().Concat(type.GetConstructors(Declared)))
        {
            if (method is MethodInfo m) Add(m.ReturnType);
            foreach (var p in method.GetParameters()) Add(p.ParameterType);
            foreach (var a in method.GetCustomAttributesData()) Add(a.AttributeType);
            if (method.GetMethodBody() is not { } body) continue;
            foreach (var local in body.LocalVariables) Add(local.LocalType);
            foreach (var member in Operands(method, body))
            {
                switch (member)
                {
                    case Type t: Add(t); break;
                    case MethodBase called:
                        Add(called.DeclaringType);
                        if (called is MethodInfo info) Add(info.ReturnType);
                        if (called.IsGenericMethod) foreach (var argument in called.GetGenericArguments()) Add(argument);
                        break;
                    case FieldInfo f: Add(f.DeclaringType); Add(f.FieldType); break;
                }
            }
        }
        return used;
    }

    private static readonly OpCode[] OneByte = new OpCode[0x100];
    private static readonly OpCode[] TwoByte = new OpCode[0x100];

    static FolderDependencySpecs()
    {
        foreach (var field in typeof(OpCodes).GetFields(BindingFlags.Public | BindingFlags.Static))
        {
            var code = (OpCode)field.GetValue(null)!;
            if (code.Size == 1) OneByte[(byte)code.Value] = code;
            else TwoByte[(byte)(code.Value & 0xFF)] = code;
        }
    }

    /// <summary>The types, methods and fields a method body's instructions name.</summary>
    private static IEnumerable<MemberInfo> Operands(MethodBase method, MethodBody body)
    {
        var il = body.GetILAsByteArray()!;
        var typeArguments = method.DeclaringType is { IsGenericType: true } declaring ? declaring.GetGenericArguments() : null;
        var methodArguments = method is MethodInfo { IsGenericMethod: true } ? method.GetGenericArguments() : null;
        for (var i = 0; i < il.Length;)
        {
            var code = il[i] == 0xFE ? TwoByte[il[i + 1]] : OneByte[il[i]];
            i += code.Size;
            switch (code.OperandType)
            {
                case OperandType.InlineNone:
                    break;
                case OperandType.ShortInlineBrTarget or OperandType.ShortInlineI or OperandType.ShortInlineVar:
                    i += 1;
                    break;
                case OperandType.InlineVar:
                    i += 2;
                    break;
                case OperandType.InlineI8 or OperandType.InlineR:
                    i += 8;
                    break;
                case OperandType.InlineSwitch:
                    i += 4 + 4 * BitConverter.ToInt32(il, i);
                    break;
                case OperandType.InlineField or OperandType.InlineMethod or OperandType.InlineTok or OperandType.InlineType:
                    yield return method.Module.ResolveMember(BitConverter.ToInt32(il, i), typeArguments, methodArguments)!;
                    i += 4;
                    break;
                default: // InlineBrTarget, InlineI, ShortInlineR, InlineString, InlineSig
                    i += 4;
                    break;
            }
        }
    }

    private static string RepositoryRoot([CallerFilePath] string thisFile = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(thisFile)!, "..", "..", ".."));

    [GeneratedRegex(@"^\s*namespace\s+([\w.]+)\s*[;{]", RegexOptions.Multiline)]
    private static partial Regex NamespaceDeclaration();
}
