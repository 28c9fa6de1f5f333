using System.Runtime.CompilerServices;

namespace HeapDaemon.Tests.Support;

internal static class ModuleSetup
{
    /// <summary>Many test hosts each watching appsettings.json would exhaust inotify instances.</summary>
    [ModuleInitializer]
    internal static void DisableConfigReload() =>
        Environment.SetEnvironmentVariable("DOTNET_HOSTBUILDER__RELOADCONFIGONCHANGE", "false");
}
