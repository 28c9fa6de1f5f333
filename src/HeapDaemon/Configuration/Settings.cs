namespace HeapDaemon.Configuration;

/// <summary><c>Admin</c>: who may use the API (see <see cref="Access.AccessPolicies"/>).</summary>
public sealed class AdminSettings
{
    /// <summary>The admin's bearer token: everything.</summary>
    public string Token { get; set; } = "";

    /// <summary>Bearer tokens that may read, never change (issue 16's viewer role).</summary>
    public string[] ViewerTokens { get; set; } = [];
}

/// <summary><c>Secrets</c>: the keys that seal stored secrets.</summary>
public sealed class SecretsSettings
{
    public string MasterKey { get; set; } = "";

    /// <summary>Keys secrets may still be sealed under, during a rotation; they are sealed anew at start.</summary>
    public string[] PreviousMasterKeys { get; set; } = [];
}

/// <summary><c>Security</c>.</summary>
public sealed class SecuritySettings
{
    /// <summary>Hosts a credential's endpointUrl may reach even where the endpoint policy would block them.</summary>
    public string[] AllowedEndpointHosts { get; set; } = [];
}

/// <summary><c>Health</c>: the readiness probe's checks.</summary>
public sealed class HealthSettings
{
    /// <summary>How long the S3 endpoints check keeps its answer: each check lists every bucket couriers use.</summary>
    public TimeSpan S3CheckInterval { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary><c>Logging:Format</c>: <c>simple</c> (default, one line per entry) or <c>json</c> (one JSON object per line).</summary>
public enum LogFormat { Simple, Json }

/// <summary><c>Console</c>: the web console's sessions.</summary>
public sealed class ConsoleSettings
{
    /// <summary>A session ends after this long without a request (sliding: each request renews it).</summary>
    public TimeSpan SessionIdleTimeout { get; set; } = TimeSpan.FromHours(1);

    /// <summary>And in any case this long after sign-in.</summary>
    public TimeSpan SessionMaxAge { get; set; } = TimeSpan.FromHours(12);
}

/// <summary><c>Http</c>: where the daemon is reached, behind a reverse proxy or not.</summary>
public sealed class HttpSettings
{
    /// <summary>The path the daemon is served under, e.g. <c>/heapd</c> when a proxy forwards https://host/heapd/ to it; empty at the root.</summary>
    public string PathBase { get; set; } = "";

    /// <summary>Read X-Forwarded-For, -Proto, -Host and -Prefix from the proxies in <see cref="KnownProxies"/>.</summary>
    public bool ForwardedHeaders { get; set; }

    /// <summary>Addresses of the proxies whose forwarded headers are believed; loopback only when empty.</summary>
    public string[] KnownProxies { get; set; } = [];
}
