using HeapDaemon.Actors.Credentials;

namespace HeapDaemon.Configuration;

/// <summary>The settings a daemon cannot start without; checked at start so a missing one fails loudly and early.</summary>
public sealed class DaemonSettings
{
    public required string PostgresConnectionString { get; init; }

    public required string AdminToken { get; init; }

    public required string MasterKey { get; init; }

    /// <summary>The daemon's own AWS identity, for role-mode credentials.</summary>
    public required AwsSettings Aws { get; init; }

    public static DaemonSettings From(IConfiguration configuration)
    {
        var missing = new List<string>();
        var postgres = configuration.GetConnectionString("Postgres");
        var token = configuration["Admin:Token"];
        var masterKey = configuration["Secrets:MasterKey"];
        if (string.IsNullOrWhiteSpace(postgres)) missing.Add("ConnectionStrings:Postgres (env ConnectionStrings__Postgres)");
        if (string.IsNullOrWhiteSpace(token) || token.Length < 16) missing.Add("Admin:Token of at least 16 characters (env HEAPD__Admin__Token)");
        if (string.IsNullOrWhiteSpace(masterKey)) missing.Add("Secrets:MasterKey, 32 random bytes in base64 (env HEAPD__Secrets__MasterKey; make one with `openssl rand -base64 32`)");
        if (missing.Count > 0)
            throw new InvalidOperationException("HeapDaemon cannot start; set: " + string.Join("; ", missing));
        var aws = configuration.GetSection("Aws").Get<AwsSettings>() ?? new AwsSettings();
        if (aws.Validate() is { Count: > 0 } invalid)
            throw new InvalidOperationException("HeapDaemon cannot start: " + string.Join("; ", invalid));
        return new DaemonSettings { PostgresConnectionString = postgres!, AdminToken = token!, MasterKey = masterKey!, Aws = aws };
    }
}
