using System.Net;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Components.Endpoints;
using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace HeapDaemon.WebConsole;

/// <summary>
/// What escapes a console page: a page that says what happened and what to do, not a stack trace nor JSON. The admin
/// API's own handler (<see cref="Admin.AdminProblems"/>) answers everything else.
/// </summary>
public sealed class ConsoleProblems(ILogger<ConsoleProblems> log) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken ct)
    {
        var endpoint = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<ComponentTypeMetadata>() is null) return false;
        var (status, sentence) = exception switch
        {
            PostgresException pg when !PostgresErrors.IsUnavailable(pg) => (500, $"{PostgresErrors.Describe(pg)}. The daemon's log has the details."),
            NpgsqlException or TimeoutException or Akka.Actor.AskTimeoutException =>
                (503, "The daemon cannot reach PostgreSQL or its actors right now. Wait a moment and reload the page."),
            Actors.Couriers.CourierRestartingException => (503, "The courier is restarting. Wait a moment and reload the page."),
            _ => (500, "The daemon failed to show this page. Its log has the details; reload the page, and if it fails again, tell whoever runs the daemon."),
        };
        if (status == 500) log.LogError(exception, "Console page {Path} failed", context.Request.Path);
        else log.LogWarning("Console page {Path} could not reach PostgreSQL or its actors: {Message}", context.Request.Path, exception.Message);
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync($"""
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>Something went wrong - HeapDaemon</title></head>
            <body><main><h1>Something went wrong</h1><p>{WebUtility.HtmlEncode(sentence)}</p><p><a href="{WebUtility.HtmlEncode(context.Request.PathBase)}/">Back to Sources</a></p></main></body></html>
            """, ct);
        return true;
    }
}
