using Akka.Actor;
using HeapDaemon.Admin;
using HeapDaemon.Configuration;
using HeapDaemon.WebConsole;

// A start that fails on a setting says so in one line and exits 1, instead of a stack trace.
AppDomain.CurrentDomain.UnhandledException += (_, e) =>
{
    if (e.ExceptionObject is Exception exception && StartFailure.Describe(exception) is { } reason) Environment.Exit(StartFailure.Report(reason));
};

// First, before Parquet reads allocate large native blocks (see GlibcMalloc).
GlibcMalloc.FixMmapThreshold();

// The content root is the build output, where the repository's appsettings.json is copied, wherever we start from.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
// Every setting can be overridden as HEAPD__Section__Key, besides the plain Section__Key ASP.NET reads anyway.
builder.Configuration.AddEnvironmentVariables("HEAPD__");
builder.AddHeapDaemon();

var app = builder.Build();
app.UseDaemonAddress();
app.UseExceptionHandler();
// Every error answer of the API carries a ProblemDetails: exceptions through AdminProblems, and answers that have a
// status but no body (a method the route does not take) through the status-code pages; the console's are pages.
app.UseStatusCodePages(StatusPages.WriteAsync);
app.UseKeptRequestBodies();
app.UseAuthentication();
app.UseAuthorization();
app.UseConsoleChangesForAdmins();
app.UseAntiforgery();
app.MapOperationsEndpoints();
app.MapAdminApi();
app.MapConsole();
// Taken once started: the host's services are disposed of by the time Run returns.
CoordinatedShutdown? actorSystemShutdown = null;
app.Lifetime.ApplicationStarted.Register(() => actorSystemShutdown = CoordinatedShutdown.Get(app.Services.GetRequiredService<ActorSystem>()));
app.Run();

// The actor system stops first only when it was not asked to (the split-brain resolver downed this node, say): the
// host then stops too, and the exit code says it failed, so a restart policy of "on failure" brings the node back.
if (actorSystemShutdown?.ShutdownReason is not { } reason || reason is CoordinatedShutdown.ClrExitReason) return 0;
Console.Error.WriteLine($"heapdaemon: the daemon stopped because its actor system stopped ({reason.GetType().Name}), not because it was asked to; exit code 1");
return 1;

/// <summary>Visible to the HTTP tests' WebApplicationFactory.</summary>
public partial class Program;
