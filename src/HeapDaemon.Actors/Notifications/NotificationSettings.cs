namespace HeapDaemon.Actors.Notifications;

/// <summary>Configuration section <c>Notifications</c>: how webhooks are reached and retried.</summary>
public sealed class NotificationSettings
{
    /// <summary>Where the admin API is reached from outside (e.g. https://heapd.example.com); links in bodies are paths without it.</summary>
    public string? PublicBaseUrl { get; init; }

    /// <summary>Attempts per delivery, the first included.</summary>
    public int MaxAttempts { get; init; } = 6;

    /// <summary>The first retry's delay; each next one doubles (with jitter), up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long one attempt may take before it counts as failed.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Deliveries a webhook may have waiting; past that, new events for it are dropped (and logged).</summary>
    public int QueueLimit { get; init; } = 100;

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (PublicBaseUrl is not null && (!Uri.TryCreate(PublicBaseUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https")))
            errors.Add($"Notifications:PublicBaseUrl '{PublicBaseUrl}' must be an absolute http(s) URL");
        if (MaxAttempts is < 1 or > 20) errors.Add("Notifications:MaxAttempts must be between 1 and 20");
        if (RetryBaseDelay <= TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay)
            errors.Add("Notifications:RetryBaseDelay must be positive and at most Notifications:RetryMaxDelay");
        if (AttemptTimeout <= TimeSpan.Zero) errors.Add("Notifications:AttemptTimeout must be positive");
        if (QueueLimit < 1) errors.Add("Notifications:QueueLimit must be at least 1");
        return errors;
    }

    /// <summary>The admin API URL of a path such as <c>/api/runs/…</c>.</summary>
    public string Link(string path) => PublicBaseUrl is null ? path : PublicBaseUrl.TrimEnd('/') + path;
}
