using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using HeapDaemon.Actors;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Notifications;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Preview;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Storage;
using LinqToDB;
using Npgsql;

namespace HeapDaemon.Configuration;

public static class DaemonSetup
{
    /// <summary>Everything the daemon runs: catalogs, the pipeline, the actor system with its SQL journal, the admin API's JSON.</summary>
    public static void AddHeapDaemon(this WebApplicationBuilder builder)
    {
        var settings = DaemonSettings.From(builder.Configuration);
        var services = builder.Services;

        services.AddSingleton(settings);
        services.AddSingleton(_ => NpgsqlDataSource.Create(settings.PostgresConnectionString));
        services.AddSingleton(new SecretProtector(settings.MasterKey,
            builder.Configuration.GetSection("Secrets:PreviousMasterKeys").Get<string[]>() ?? []));
        services.AddSingleton(builder.Configuration.GetSection("S3").Get<S3Settings>() ?? new S3Settings());
        services.AddSingleton(settings.Aws);
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<AwsCredentialsResolver>();
        services.AddSingleton(builder.Configuration.GetSection("Loading").Get<LoadingSettings>() ?? new LoadingSettings());
        services.AddSingleton(builder.Configuration.GetSection("Runs").Get<RunSettings>() ?? new RunSettings());
        services.AddSingleton<CredentialCatalog>();
        var database = new NpgsqlConnectionStringBuilder(settings.PostgresConnectionString);
        services.AddSingleton(new EndpointPolicy(database.Host, database.Port,
            builder.Configuration.GetSection("Security:AllowedEndpointHosts").Get<string[]>() ?? []));
        services.AddSingleton<PgpKeyCatalog>();
        services.AddSingleton<FeedCatalog>();
        services.AddSingleton<RunStore>();
        services.AddSingleton<S3ClientFactory>();
        services.AddSingleton<S3ConnectionTest>();
        services.AddSingleton<FileLoadPipeline>();
        services.AddSingleton<DaemonMetrics>();
        services.AddSingleton(new IdleMemory());
        services.AddSingleton<HeapCourier>();
        services.AddSingleton(builder.Configuration.GetSection("Preview").Get<PreviewSettings>() ?? new PreviewSettings());
        services.AddSingleton<FilePreviewer>();
        services.AddSingleton<CourierServices>();
        var notifications = builder.Configuration.GetSection("Notifications").Get<NotificationSettings>() ?? new NotificationSettings();
        if (notifications.Validate() is [_, ..] invalid) throw new InvalidOperationException("HeapDaemon cannot start: " + string.Join("; ", invalid));
        services.AddWebhookDelivery(notifications);

        services.ConfigureHttpJsonOptions(options => HeapJson.Configure(options.SerializerOptions));
        // A body or query value that does not bind throws, so the exception handler can say which (RequestProblems),
        // instead of an empty 400 (the framework's default outside Development).
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 1 << 20);

        // Registered before Akka so its tables and the journal's schema exist when the couriers recover.
        services.AddHostedService<MetadataInitializer>();
        services.AddAkka("heapdaemon", (akka, _) => akka
            .ConfigureLoggers(loggers => loggers.AddLoggerFactory())
            .WithSqlPersistence(
                // Unpooled: after PostgreSQL restarts, every pooled connection is dead, and Npgsql hands out an idle one
                // without checking it, so the next journal write would fail (57P01) and stop its courier. Journal
                // writes are few (a courier changed, a schedule tick), so a fresh connection each is cheap.
                connectionString: new NpgsqlConnectionStringBuilder(settings.PostgresConnectionString) { Pooling = false }.ConnectionString,
                providerName: ProviderName.PostgreSQL15,
                schemaName: MetadataSchema.JournalSchema,
                autoInitialize: true)
            .AddNotificationActors()
            .AddCourierActors());
    }

    private sealed class MetadataInitializer(NpgsqlDataSource db, CredentialCatalog credentials, WebhookCatalog webhooks, LoadingSettings loading,
        ILogger<MetadataInitializer> log)
        : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await MetadataSchema.EnsureAsync(db, cancellationToken);
            await CheckMergeWorkMemAsync(cancellationToken);
            var (resealed, unreadable) = await credentials.ResealAsync(cancellationToken);
            if (resealed > 0) log.LogInformation("Sealed {Count} credential secrets anew under the current master key", resealed);
            if (unreadable.Count > 0)
                log.LogError("No configured master key opens the secrets of credentials {Ids}; runs using them will fail until the key that sealed them is configured",
                    string.Join(", ", unreadable));
            var (webhooksResealed, webhooksUnreadable) = await webhooks.ResealAsync(cancellationToken);
            if (webhooksResealed > 0) log.LogInformation("Sealed {Count} webhook secrets anew under the current master key", webhooksResealed);
            if (webhooksUnreadable.Count > 0)
                log.LogError("No configured master key opens the secrets of webhooks {Ids}; they are not sent to until the key that sealed them is configured",
                    string.Join(", ", webhooksUnreadable));
        }

        /// <summary>A work_mem PostgreSQL refuses would fail every load; it stops the daemon at start instead.</summary>
        private async Task CheckMergeWorkMemAsync(CancellationToken ct)
        {
            if (loading.MergeWorkMem is not { } workMem) return;
            try
            {
                await using var cmd = db.CreateCommand("SELECT set_config('work_mem', $1, true)");
                cmd.Parameters.AddWithValue(workMem);
                await cmd.ExecuteNonQueryAsync(ct);
            }
            catch (PostgresException e)
            {
                throw new InvalidOperationException($"Loading:MergeWorkMem '{workMem}' is not a work_mem PostgreSQL accepts: {e.MessageText}");
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
