namespace HeapDaemon.Actors.Notifications;

/// <summary>Configuration section <c>Notifications</c>: how webhooks are reached and retried (rules in the host's SettingsRules).</summary>
public sealed class NotificationSettings
{
    /// <summary>Where the admin API is reached from outside (e.g. https://heapd.example.com); links in bodies are paths without it.</summary>
    public string? PublicBaseUrl { get; set; }

    /// <summary>Attempts per delivery, the first included.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>The first retry's delay; each next one doubles (with jitter), up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long one attempt may take before it counts as failed.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Deliveries a webhook may have waiting; past that, new events for it are dropped (and logged).</summary>
    public int QueueLimit { get; set; } = 100;

    /// <summary>The admin API URL of a path such as <c>/api/runs/…</c>.</summary>
    public string Link(string path) => PublicBaseUrl is null ? path : PublicBaseUrl.TrimEnd('/') + path;
}
