using System.Text.Json.Serialization.Metadata;
using Akka.Hosting;
using Akka.Persistence.Sql.Hosting;
using HeapDaemon.Access;
using HeapDaemon.Actors.Browsing;
using HeapDaemon.Actors.Cluster;
using HeapDaemon.Actors.Couriers;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Endpoints;
using HeapDaemon.Actors.Heap;
using HeapDaemon.Actors.Json;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Memory;
using HeapDaemon.Actors.Metrics;
using HeapDaemon.Actors.Notifications;
using HeapDaemon.Actors.Pipeline;
using HeapDaemon.Actors.Preview;
using HeapDaemon.Actors.Runs;
using HeapDaemon.Actors.Stitch;
using HeapDaemon.Actors.Storage;
using HeapDaemon.Admin;
using HeapDaemon.Management;
using HeapDaemon.Operations;
using HeapDaemon.WebConsole;
using LinqToDB;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HeapDaemon.Configuration;

public static class DaemonSetup
{
    /// <summary>Everything the daemon runs: checked settings, catalogs, the pipeline, the actor system with its SQL journal, the HTTP edge.</summary>
    public static void AddHeapDaemon(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddCourierServices(configuration);
        builder.AddDaemonLogging();
        services.AddSingleton<S3ConnectionTest>();
        services.AddSingleton<DaemonMetricsExport>();
        services.AddSingleton<LastSuccesses>();
        services.AddSingleton<FilePreviewer>();
        services.AddSingleton<DomainTableBrowser>();
        services.AddSingleton<StitchInputs>();
        services.AddSingleton<StitchWriter>();
        services.AddSingleton<StitchRunner>();
        services.AddSingleton<StitchSettingsStore>();
        services.AddSingleton<StitchRunStore>();
        services.AddSingleton<StitchQueries>();
        services.AddSingleton<StitchServices>();
        services.AddSingleton<RunHistory>();
        services.AddManagement();
        services.AddWebhookDelivery();

        // The console first: its exception handler answers its pages, the API's answers everything else.
        builder.AddConsole();
        builder.AddAdminHttp();
        services.AddHealthChecks()
            .AddNpgSql(sp => sp.GetRequiredService<NpgsqlDataSource>(), name: "postgresql", timeout: TimeSpan.FromSeconds(5))
            .AddNpgSql(sp => sp.GetRequiredService<NpgsqlDataSource>(), healthQuery: "SELECT 1 FROM akka.journal LIMIT 1", name: "journal",
                timeout: TimeSpan.FromSeconds(5))
            .AddCheck<S3EndpointsCheck>("s3-endpoints", failureStatus: HealthStatus.Degraded, timeout: TimeSpan.FromSeconds(30))
            .AddCheck<ClusterJoinedCheck>("cluster");

        // Registered before Akka so its tables and the journal's schema exist when the couriers recover.
        services.AddHostedService<MetadataInitializer>();
        var postgres = configuration.GetConnectionString("Postgres") ?? "";
        services.AddAkka(ClusterSettings.SystemName, (akka, provider) => akka
            .ConfigureLoggers(loggers => loggers.AddLoggerFactory(new StructuredLogState(provider.GetRequiredService<ILoggerFactory>())))
            .WithSqlPersistence(
                // Unpooled: after PostgreSQL restarts, every pooled connection is dead, and Npgsql hands out an idle one
                // without checking it, so the next journal write would fail (57P01) and stop its courier. Journal
                // writes are few (a courier changed, a schedule tick), so a fresh connection each is cheap.
                connectionString: postgres.Length == 0 ? "" : new NpgsqlConnectionStringBuilder(postgres) { Pooling = false }.ConnectionString,
                providerName: ProviderName.PostgreSQL15,
                schemaName: MetadataSchema.JournalSchema,
                autoInitialize: true)
            .AddDaemonCluster(provider.GetRequiredService<IOptions<ClusterSettings>>().Value)
            .AddNotificationActors()
            .AddCourierActors()
            .AddStitchActors());
    }

    /// <summary>
    /// The checked settings and what the courier actors (<see cref="CourierHostingExtensions.AddCourierActors"/>) and
    /// their runs use: the data source, catalogs, the pipeline, metrics, and the courier kinds. The daemon starts with
    /// this, and so do the courier actor specs.
    /// </summary>
    public static void AddCourierServices(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddCheckedSettings(configuration);
        // Read here because the data source is registered with it; ValidateOnStart checks it before anything opens a
        // connection.
        services.AddNpgsqlDataSource(configuration.GetConnectionString("Postgres") ?? "");
        services.AddSingleton(sp => new SecretProtector(sp.GetRequiredService<IOptions<SecretsSettings>>().Value.MasterKey,
            sp.GetRequiredService<IOptions<SecretsSettings>>().Value.PreviousMasterKeys));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<AwsCredentialsResolver>();
        services.AddSingleton<CredentialCatalog>();
        services.AddSingleton(sp =>
        {
            var database = new NpgsqlConnectionStringBuilder(sp.GetRequiredService<IOptions<PostgresSettings>>().Value.ConnectionString);
            return new EndpointPolicy(EndpointPolicy.Databases(database.Host, database.Port),
                sp.GetRequiredService<IOptions<SecuritySettings>>().Value.AllowedEndpointHosts);
        });
        services.AddSingleton<GuardedHttpClientFactory>();
        services.AddSingleton<PgpKeyCatalog>();
        services.AddSingleton<FeedCatalog>();
        services.AddSingleton<RunStore>();
        services.AddSingleton<RunLeases>();
        services.AddSingleton<ClusterStatus>();
        services.AddSingleton<S3ClientFactory>();
        services.AddSingleton<FileLoadPipeline>();
        services.AddMetrics();
        services.AddSingleton(sp => new DaemonMetrics(sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>()));
        services.AddSingleton(new IdleMemory());
        // Courier kinds: one class each, chosen by the kind a courier's configuration names (CourierKinds). A new kind
        // is its class and its line here.
        services.AddSingleton<ICourierKind, FilesCourier>();
        services.AddSingleton<HeapCourier>();
        services.AddSingleton<ICourierKind>(provider => provider.GetRequiredService<HeapCourier>());
        services.AddSingleton<CourierKinds>();
        services.AddSingleton<CourierRunner>();
        services.AddSingleton<CourierServices>();
    }

    /// <summary>The HTTP edge: typed JSON, ProblemDetails for every error, the bearer scheme and its policies, the OpenAPI document.</summary>
    private static void AddAdminHttp(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        services.ConfigureHttpJsonOptions(options =>
        {
            HeapJson.Configure(options.SerializerOptions);
            // A number is a JSON number: "5" where a number belongs is the wrong type, said so, not read as 5.
            options.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
            // A request's constructor parameters without a default must be sent: a missing one is named, not taken as null.
            options.SerializerOptions.TypeInfoResolver = new DefaultJsonTypeInfoResolver { Modifiers = { RequestShape.RequireParametersWithoutDefaults } };
        });
        services.AddProblemDetails(options => options.CustomizeProblemDetails = problem =>
            // The answers the framework gives without a word (status-code pages): say what would do.
            problem.ProblemDetails.Detail ??= problem.ProblemDetails.Status switch
            {
                StatusCodes.Status404NotFound => "no such route; the API is described at /openapi/v1.json and /api-docs",
                StatusCodes.Status405MethodNotAllowed => $"{problem.HttpContext.Request.Method} is not a method this route takes; see /openapi/v1.json",
                StatusCodes.Status415UnsupportedMediaType => "the body must be JSON, sent with Content-Type: application/json",
                _ => null,
            });
        services.AddExceptionHandler<AdminProblems>();
        // A query, route or body value that does not bind throws, so AdminProblems can say which, instead of an empty 400
        // (the framework's default outside Development).
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = RequestBodies.MaxBytes);
        services.AddAccessPolicies();
        services.AddApiDescription();
    }

    /// <remarks>
    /// Its services are resolved when it starts, not when it is made: the host makes every hosted service before it checks
    /// the settings (ValidateOnStart), and a bad setting must be reported with all the others, not alone by the first
    /// constructor that reads it.
    /// </remarks>
    private sealed class MetadataInitializer(IServiceProvider services, ILogger<MetadataInitializer> log) : IHostedService
    {
        public async Task StartAsync(CancellationToken cancellationToken)
        {
            var db = services.GetRequiredService<NpgsqlDataSource>();
            var credentials = services.GetRequiredService<CredentialCatalog>();
            await MetadataSchema.EnsureAsync(db, cancellationToken);
            if (await CourierJournal.SplitRegistryStreamAsync(db, cancellationToken) is > 0 and var moved)
                log.LogWarning("The journal stream courier-registry held {Count} events and snapshots of the courier 'registry'; they were moved to its own stream",
                    moved);
            await StitchSchema.EnsureAsync(db, cancellationToken);
            await CheckMergeWorkMemAsync(db, services.GetRequiredService<LoadingSettings>(), cancellationToken);
            var (resealed, unreadable) = await credentials.ResealAsync(cancellationToken);
            if (resealed > 0) log.LogInformation("Sealed {Count} credential secrets anew under the current master key", resealed);
            if (unreadable.Count > 0)
                log.LogError("No configured master key opens the secrets of credentials {Ids}; runs using them will fail until the key that sealed them is configured",
                    string.Join(", ", unreadable));
            var (webhooksResealed, webhooksUnreadable) = await services.GetRequiredService<WebhookCatalog>().ResealAsync(cancellationToken);
            if (webhooksResealed > 0) log.LogInformation("Sealed {Count} webhook secrets anew under the current master key", webhooksResealed);
            if (webhooksUnreadable.Count > 0)
                log.LogError("No configured master key opens the secrets of webhooks {Ids}; they are not sent to until the key that sealed them is configured",
                    string.Join(", ", webhooksUnreadable));
            // The export listens before the first figure is written; the gauge of last successes starts whole.
            services.GetRequiredService<DaemonMetricsExport>();
            await services.GetRequiredService<LastSuccesses>().LoadAsync(cancellationToken);
        }

        /// <summary>A work_mem PostgreSQL refuses would fail every load; it stops the daemon at start instead.</summary>
        private static async Task CheckMergeWorkMemAsync(NpgsqlDataSource db, LoadingSettings loading, CancellationToken ct)
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
                throw new StartFailure($"Loading:MergeWorkMem '{workMem}' is not a work_mem PostgreSQL accepts: {e.MessageText}");
            }
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
