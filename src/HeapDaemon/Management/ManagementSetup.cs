namespace HeapDaemon.Management;

public static class ManagementSetup
{
    /// <summary>What a user does with the daemon, for the admin API and the console alike.</summary>
    public static void AddManagement(this IServiceCollection services)
    {
        services.AddSingleton<CredentialService>();
        services.AddSingleton<CourierService>();
        services.AddSingleton<FeedService>();
        services.AddSingleton<PreviewService>();
        services.AddSingleton<RunService>();
        services.AddSingleton<HeapSourceService>();
        services.AddSingleton<StitchService>();
        services.AddSingleton<NotificationService>();
    }
}
