using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using HeapDaemon.Actors;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Preview;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Stitch;
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
        services.AddSingleton<StitchInputs>();
        services.AddSingleton<StitchWriter>();
        services.AddSingleton<StitchRunner>();
        services.AddSingleton<StitchSettingsStore>();
        services.AddSingleton<StitchRunStore>();
        services.AddSingleton<StitchQueries>();
        services.AddSingleton<StitchServices>();

        services.ConfigureHttpJsonOptions(options => HeapJson.Configure(options.SerializerOptions));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 1 << 20);

        // Registered before Akka so its tables and the journal's schema exist when the couriers recover.
        services.AddHostedService<MetadataInitializer>();
        services.AddAkka("heapdaemon", (akka, _) => akka
            .ConfigureLoggers(loggers => loggers.AddLoggerFactory())
            .WithSqlPersistence(
                connectionString: settings.PostgresConnectionString,
                providerName: ProviderName.PostgreSQL15,
                schemaName: MetadataSchema.JournalSchema,
                autoInitialize: true)
            .AddCourierActors()
            .AddStitchActors());
    }

    private sealed class MetadataInitializer(NpgsqlDataSource db, CredentialCatalog credentials, LoadingSettings loading, ILogger<MetadataInitializer> log)
        : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            await MetadataSchema.EnsureAsync(db, cancellationToken);
            await StitchSchema.EnsureAsync(db, cancellationToken);
            await CheckMergeWorkMemAsync(cancellationToken);
            var (resealed, unreadable) = await credentials.ResealAsync(cancellationToken);
            if (resealed > 0) log.LogInformation("Sealed {Count} credential secrets anew under the current master key", resealed);
            if (unreadable.Count > 0)
                log.LogError("No configured master key opens the secrets of credentials {Ids}; runs using them will fail until the key that sealed them is configured",
                    string.Join(", ", unreadable));
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
