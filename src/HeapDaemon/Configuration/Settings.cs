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
