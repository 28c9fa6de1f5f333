using HeapDaemon.Access;
using Microsoft.AspNetCore.Diagnostics;

namespace HeapDaemon.WebConsole;

/// <summary>An answer with a status and no body: a ProblemDetails for the API (and its tools), a sentence for a person.</summary>
public static class StatusPages
{
    public static async Task WriteAsync(StatusCodeContext status)
    {
        var context = status.HttpContext;
        var path = context.Request.Path;
        if (ConsoleSession.IsApi(context.Request) || path.StartsWithSegments("/openapi") || !AcceptsHtml(context.Request))
        {
            await context.RequestServices.GetRequiredService<IProblemDetailsService>()
                .TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = { Status = context.Response.StatusCode } });
            return;
        }
        var sentence = context.Response.StatusCode switch
        {
            StatusCodes.Status404NotFound => "There is no such page. Go back to Sources and find it from there.",
            StatusCodes.Status400BadRequest => "The page could not read what the form sent; it may have been open too long. Go back, reload the form and send it again.",
            _ => "The daemon could not answer this request. Go back to Sources and try again.",
        };
        context.Response.ContentType = "text/html; charset=utf-8";
        await context.Response.WriteAsync($"""
            <!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{context.Response.StatusCode} - HeapDaemon</title></head>
            <body><main><h1>{(context.Response.StatusCode == 404 ? "Page not found" : "The request could not be done")}</h1><p>{sentence}</p>
            <p><a href="{System.Net.WebUtility.HtmlEncode(context.Request.PathBase)}/">Back to Sources</a></p></main></body></html>
            """);
    }

    private static bool AcceptsHtml(HttpRequest request) => request.Headers.Accept.ToString().Contains("text/html", StringComparison.OrdinalIgnoreCase);
}
