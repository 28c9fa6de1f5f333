using Microsoft.Extensions.Logging.Console;

namespace HeapDaemon.Configuration;

public static class DaemonLogging
{
    /// <summary>
    /// Console logs, one line per entry (<c>Logging:Format=simple</c>, the default) or one JSON object per line
    /// (<c>json</c>) whose <c>State</c> holds each value of the message by name: <c>CourierId</c>, <c>RunId</c>, …
    /// </summary>
    public static void AddDaemonLogging(this WebApplicationBuilder builder)
    {
        // A start that fails on a setting is said in one line by Program (StartFailure); the host's own report of it
        // is the same failure again with a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        if (SettingsRules.LogFormatOf(builder.Configuration) != LogFormat.Json) return;
        builder.Logging.ClearProviders();
        builder.Logging.AddJsonConsole(options =>
        {
            options.IncludeScopes = true;
            options.UseUtcTimestamp = true;
            options.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
    }
}
