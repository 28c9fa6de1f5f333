namespace HeapDaemon.WebConsole.Components;

/// <summary>A page with a part that updates live (interactive server rendering): the only pages that load Blazor's script.</summary>
[AttributeUsage(AttributeTargets.Class)]
public sealed class LivePageAttribute : Attribute;
