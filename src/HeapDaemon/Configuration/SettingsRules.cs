using System.Text.RegularExpressions;
using HeapDaemon.Actors.Cluster;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Notifications;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Preview;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HeapDaemon.Configuration;

/// <summary>
/// Every setting, bound from its section and checked when the daemon starts (<c>ValidateOnStart</c>): a bad one stops
/// the start with one line that names the key and the rule (<see cref="StartFailure"/>), instead of failing mid-run.
/// The consumers keep taking the plain settings objects.
/// </summary>
public static partial class SettingsRules
{
    public static void AddCheckedSettings(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PostgresSettings>()
            .Configure(p => p.ConnectionString = configuration.GetConnectionString("Postgres") ?? "")
            .Validate(p => p.ConnectionString.Length > 0, "ConnectionStrings:Postgres is required (env ConnectionStrings__Postgres): the destination database")
            .Validate(p => p.ConnectionString.Length == 0 || Parses(p.ConnectionString), "ConnectionStrings:Postgres must be an Npgsql connection string (Host=...;Database=...)")
            .ValidateOnStart();
        services.AddOptions<AdminSettings>().Bind(configuration.GetSection("Admin"))
            .Validate(a => a.Token.Trim().Length >= 16, "Admin:Token must be at least 16 characters (env HEAPD__Admin__Token)")
            .Validate(a => a.ViewerTokens.All(t => t.Trim().Length >= 16), "Admin:ViewerTokens must each be at least 16 characters")
            .Validate(a => !a.ViewerTokens.Contains(a.Token) && a.ViewerTokens.Distinct().Count() == a.ViewerTokens.Length,
                "Admin:ViewerTokens must differ from Admin:Token and from each other")
            .ValidateOnStart();
        services.AddOptions<SecretsSettings>().Bind(configuration.GetSection("Secrets"))
            .Validate(s => IsKey(s.MasterKey),
                "Secrets:MasterKey must be 32 random bytes in base64 (env HEAPD__Secrets__MasterKey; make one with `openssl rand -base64 32`)")
            .Validate(s => s.PreviousMasterKeys.All(IsKey), "Secrets:PreviousMasterKeys must each be 32 bytes in base64")
            .ValidateOnStart();
        services.AddOptions<SecuritySettings>().Bind(configuration.GetSection("Security"))
            .Validate(s => s.AllowedEndpointHosts.All(h => !string.IsNullOrWhiteSpace(h)), "Security:AllowedEndpointHosts must not hold an empty host")
            .ValidateOnStart();
        services.AddOptions<S3Settings>().Bind(configuration.GetSection("S3"))
            .Validate(s => s.MaxErrorRetry is >= 0 and <= 20, "S3:MaxErrorRetry must be 0-20")
            .Validate(s => Positive(s.RequestTimeout), "S3:RequestTimeout must be a duration above zero, like 00:05:00")
            .Validate(s => Positive(s.ReadStallTimeout), "S3:ReadStallTimeout must be a duration above zero, like 00:01:00")
            .Validate(s => s.MaxResumes is >= 0 and <= 100, "S3:MaxResumes must be 0-100")
            .Validate(s => Positive(s.InteractiveTimeout), "S3:InteractiveTimeout must be a duration above zero, like 00:00:20")
            .ValidateOnStart();
        services.AddOptions<AwsSettings>().Bind(configuration.GetSection("Aws"))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AwsSettings>, AwsRules>();
        services.AddOptions<RunSettings>().Bind(configuration.GetSection("Runs"))
            .Validate(r => r.MaxAttempts is >= 1 and <= 100, "Runs:MaxAttempts must be 1-100 (1 turns retries off)")
            .Validate(r => Positive(r.RetryBaseDelay), "Runs:RetryBaseDelay must be a duration above zero, like 00:00:02")
            .Validate(r => r.RetryMaxDelay >= r.RetryBaseDelay, "Runs:RetryMaxDelay must be at least Runs:RetryBaseDelay")
            .ValidateOnStart();
        services.AddOptions<LoadingSettings>().Bind(configuration.GetSection("Loading"))
            .Validate(l => l.BatchRows is >= 1 and <= 1_000_000, "Loading:BatchRows must be 1-1000000 (rows per COPY batch)")
            .Validate(l => l.MergeEveryRows >= 1, "Loading:MergeEveryRows must be at least 1")
            .Validate(l => l.Parallelism is >= 1 and <= 64, "Loading:Parallelism must be 1-64 (tables loaded at once, each on its own connection)")
            .Validate(l => l.GroupFiles is >= 1 and <= 10_000, "Loading:GroupFiles must be 1-10000 (small files of a table committed together; 1 commits each on its own)")
            .Validate(l => l.GroupBytes >= 1, "Loading:GroupBytes must be at least 1 (bytes of small files committed together)")
            .Validate(l => l.OpenAhead is >= 1 and <= 64, "Loading:OpenAhead must be 1-64 (files of a table opened ahead of the one loading)")
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<LoadingSettings>, MergeWorkMemRule>();
        services.AddOptions<PreviewSettings>().Bind(configuration.GetSection("Preview"))
            .Validate(p => p.MaxWrappedParquetMegabytes is >= 1 and <= 100_000, "Preview:MaxWrappedParquetMegabytes must be 1-100000")
            .ValidateOnStart();
        services.AddOptions<ConsoleSettings>().Bind(configuration.GetSection("Console"))
            .Validate(c => c.SessionIdleTimeout >= TimeSpan.FromMinutes(1), "Console:SessionIdleTimeout must be at least 00:01:00")
            .Validate(c => c.SessionMaxAge >= c.SessionIdleTimeout, "Console:SessionMaxAge must be at least Console:SessionIdleTimeout")
            .ValidateOnStart();
        services.AddOptions<HttpSettings>().Bind(configuration.GetSection("Http"))
            .Validate(h => h.PathBase.Length == 0 || PathBase().IsMatch(h.PathBase),
                "Http:PathBase must be empty or a path like /heapd (starting with '/', not ending with '/', letters, digits, '-', '_', '.', '/')")
            .Validate(h => h.KnownProxies.All(p => System.Net.IPAddress.TryParse(p, out _)), "Http:KnownProxies must each be an IP address")
            .ValidateOnStart();
        services.AddOptions<NotificationSettings>().Bind(configuration.GetSection("Notifications"))
            .Validate(n => n.PublicBaseUrl is null || IsHttpUrl(n.PublicBaseUrl),
                "Notifications:PublicBaseUrl must be an absolute http(s) URL, like https://heapd.example.com")
            .Validate(n => n.MaxAttempts is >= 1 and <= 20, "Notifications:MaxAttempts must be 1-20 (1 turns retries off)")
            .Validate(n => Positive(n.RetryBaseDelay), "Notifications:RetryBaseDelay must be a duration above zero, like 00:00:05")
            .Validate(n => n.RetryMaxDelay >= n.RetryBaseDelay, "Notifications:RetryMaxDelay must be at least Notifications:RetryBaseDelay")
            .Validate(n => Positive(n.AttemptTimeout), "Notifications:AttemptTimeout must be a duration above zero, like 00:00:10")
            .Validate(n => n.QueueLimit is >= 1 and <= 100_000, "Notifications:QueueLimit must be 1-100000")
            .ValidateOnStart();
        services.AddOptions<ClusterSettings>().Bind(configuration.GetSection("Cluster"))
            .Validate(c => !string.IsNullOrWhiteSpace(c.Hostname), "Cluster:Hostname must not be empty: the address this node listens on for the others")
            .Validate(c => c.Port is >= 0 and <= 65535, "Cluster:Port must be 0-65535 (0: any free port)")
            .Validate(c => c.SeedNodes.All(IsSeedNode),
                $"Cluster:SeedNodes must each be akka.tcp://{ClusterSettings.SystemName}@host:port (a node's address, port 1-65535)")
            .Validate(c => c.DownAfter >= TimeSpan.FromSeconds(1), "Cluster:DownAfter must be at least 00:00:01")
            .Validate(c => Enum.GetNames<ClusterDiscovery>().Contains(c.Discovery, StringComparer.OrdinalIgnoreCase),
                "Cluster:Discovery must be seeds, config or kubernetes (how a node finds the others)")
            .Validate(c => !Discovers(c) || c.SeedNodes.Length == 0,
                "Cluster:SeedNodes must be empty when Cluster:Discovery is config or kubernetes: the nodes find each other by discovery")
            .Validate(c => !Discovers(c) || c.ManagementPort is >= 1 and <= 65535,
                "Cluster:ManagementPort must be 1-65535 (Akka.Management's HTTP port, which the other nodes' bootstrap asks)")
            .Validate(c => !Discovers(c) || c.ManagementPort != c.Port, "Cluster:ManagementPort must differ from Cluster:Port")
            .Validate(c => !Discovers(c) || DnsLabel().IsMatch(c.ServiceName),
                "Cluster:ServiceName must be 1-63 lowercase letters, digits and '-', starting and ending with a letter or digit")
            .Validate(c => !Discovers(c) || c.RequiredContactPoints is >= 1 and <= 1000,
                "Cluster:RequiredContactPoints must be 1-1000 (the nodes discovery must find before a new cluster is formed)")
            .Validate(c => !Is(c, ClusterDiscovery.Config) || (c.ContactPoints.Length > 0 && c.ContactPoints.All(IsHostAndPort)),
                "Cluster:ContactPoints must list each node's Akka.Management endpoint as host:port when Cluster:Discovery is config")
            .Validate(c => !Is(c, ClusterDiscovery.Config) || c.RequiredContactPoints <= c.ContactPoints.Length,
                "Cluster:RequiredContactPoints must not exceed the number of Cluster:ContactPoints")
            .Validate(c => !Is(c, ClusterDiscovery.Kubernetes) || string.IsNullOrEmpty(c.KubernetesNamespace) || DnsLabel().IsMatch(c.KubernetesNamespace),
                "Cluster:KubernetesNamespace must be empty (the pod's own) or a namespace name (lowercase letters, digits and '-')")
            .Validate(c => !Is(c, ClusterDiscovery.Kubernetes) || !string.IsNullOrWhiteSpace(c.KubernetesLabelSelector),
                "Cluster:KubernetesLabelSelector must not be empty: a label selector like app={0} ({0} is Cluster:ServiceName)")
            .ValidateOnStart();
        services.AddOptions<HealthSettings>().Bind(configuration.GetSection("Health"))
            .Validate(h => h.S3CheckInterval >= TimeSpan.FromSeconds(10), "Health:S3CheckInterval must be at least 00:00:10")
            .ValidateOnStart();

        // The services take the plain settings objects, as before.
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<S3Settings>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<AwsSettings>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<RunSettings>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<LoadingSettings>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<PreviewSettings>>().Value);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<NotificationSettings>>().Value);
    }

    /// <summary><c>Logging:Format</c> is read before the host is built (it chooses the console formatter): checked here.</summary>
    public static LogFormat LogFormatOf(IConfiguration configuration) =>
        configuration["Logging:Format"] switch
        {
            null or "" => LogFormat.Simple,
            var v when Enum.TryParse<LogFormat>(v, ignoreCase: true, out var format) => format,
            var v => throw new StartFailure($"Logging:Format '{v}' is not valid: use simple or json"),
        };

    private static bool Parses(string connectionString)
    {
        try
        {
            return new NpgsqlConnectionStringBuilder(connectionString).Host is { Length: > 0 };
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    private static bool IsSeedNode(string address) =>
        Uri.TryCreate(address, UriKind.Absolute, out var uri) && uri.Scheme == "akka.tcp" && uri.UserInfo == ClusterSettings.SystemName
        && uri.Host.Length > 0 && uri.Port is >= 1 and <= 65535 && uri.AbsolutePath is "" or "/";

    private static bool Is(ClusterSettings c, ClusterDiscovery method) => string.Equals(c.Discovery, method.ToString(), StringComparison.OrdinalIgnoreCase);

    private static bool Discovers(ClusterSettings c) => Is(c, ClusterDiscovery.Config) || Is(c, ClusterDiscovery.Kubernetes);

    private static bool IsHostAndPort(string endpoint) =>
        Uri.TryCreate($"tcp://{endpoint}", UriKind.Absolute, out var uri) && uri.Host.Length > 0 && uri.Port is >= 1 and <= 65535
        && uri.AbsolutePath == "/" && uri.UserInfo.Length == 0 && endpoint.EndsWith($":{uri.Port}", StringComparison.Ordinal);

    private static bool IsHttpUrl(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0;

    private static bool IsKey(string base64) => base64.Length > 0 && Convert.TryFromBase64String(base64, new byte[64], out var n) && n == 32;

    private static bool Positive(TimeSpan duration) => duration > TimeSpan.Zero;

    [GeneratedRegex(@"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\z")]
    private static partial Regex DnsLabel();

    [GeneratedRegex(@"^(/[A-Za-z0-9._~-]+)+\z")]
    private static partial Regex PathBase();

    [GeneratedRegex(@"^\d+\s*(kB|MB|GB|TB)?\z")]
    private static partial Regex WorkMem();

    /// <summary>The value is said too: it is the one setting whose wrong values vary (units, spaces).</summary>
    private sealed class MergeWorkMemRule : IValidateOptions<LoadingSettings>
    {
        public ValidateOptionsResult Validate(string? name, LoadingSettings options) =>
            options.MergeWorkMem is { } workMem && !WorkMem().IsMatch(workMem)
                ? ValidateOptionsResult.Fail($"Loading:MergeWorkMem '{workMem}' must be a PostgreSQL memory size like 256MB (kB, MB, GB), or null to keep the server's")
                : ValidateOptionsResult.Success;
    }

    /// <summary>The AWS section's rules, which its settings class keeps, each as its own failure.</summary>
    private sealed class AwsRules : IValidateOptions<AwsSettings>
    {
        public ValidateOptionsResult Validate(string? name, AwsSettings options) =>
            options.Validate() is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}

/// <summary><c>ConnectionStrings:Postgres</c>, as a settings object so it is checked with the others.</summary>
public sealed class PostgresSettings
{
    public string ConnectionString { get; set; } = "";
}

/// <summary>The daemon cannot start: the message names the key and the rule, and is the one line it logs.</summary>
public sealed partial class StartFailure(string message) : Exception(message)
{
    /// <summary>Why a start failed, in one sentence, when a setting is the cause; null for anything else.</summary>
    public static string? Describe(Exception e) => e switch
    {
        StartFailure start => start.Message,
        OptionsValidationException invalid => string.Join("; ", invalid.Failures),
        AggregateException all when all.InnerExceptions.Select(Describe).ToList() is var reasons && reasons.All(r => r is not null) =>
            string.Join("; ", reasons),
        InvalidOperationException when NotConverted().Match(e.Message) is { Success: true } m =>
            $"{m.Groups["key"].Value} '{m.Groups["value"].Value}' is not valid: expected {Expected(m.Groups["type"].Value)}",
        // Kestrel's bind failure of the admin API's own address (the bootstrap endpoint names its port itself).
        IOException { InnerException: AddressInUseException } when NotBound().Match(e.Message) is { Success: true } m =>
            $"the admin API's address {m.Groups["url"].Value} (Urls) is in use by another process",
        _ when e.InnerException is { } inner => Describe(inner),
        _ => null,
    };

    /// <summary>One line on standard error, the only thing a failed start writes, and the exit code.</summary>
    public static int Report(string reason)
    {
        Console.Error.WriteLine($"HeapDaemon cannot start: {reason}");
        return 1;
    }

    private static string Expected(string type) => type switch
    {
        "System.Int32" or "System.Int64" or "System.Int16" => "a whole number",
        "System.Boolean" => "true or false",
        "System.TimeSpan" => "a duration like 00:05:00",
        "System.Decimal" or "System.Double" => "a number",
        _ => "a value of another kind",
    };

    [GeneratedRegex(@"Failed to bind to address (?<url>\S+?):? address already in use")]
    private static partial Regex NotBound();

    [GeneratedRegex(@"Failed to convert configuration value '(?<value>[^']*)' at '(?<key>[^']*)' to type '(?<type>[^']*)'")]
    private static partial Regex NotConverted();
}
