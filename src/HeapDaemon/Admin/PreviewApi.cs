using System.Collections.Immutable;
using HeapDaemon.Actors.Feeds;
using HeapDaemon.Actors.Preview;
using static HeapDaemon.Admin.AdminApi;

namespace HeapDaemon.Admin;

/// <param name="PrimaryKey">The key's incoming field names; guessed (and said so) when left out.</param>
public sealed record FeedInferRequest(
    string CredentialId,
    string Key,
    string Source,
    string Name,
    string? PgpCredentialId = null,
    FileSettingsOverrides? Settings = null,
    ImmutableArray<string>? PrimaryKey = null,
    string? LastUpdatedField = null);

/// <summary>The file browser's next step: look at a file, and draft a feed from it.</summary>
public static class PreviewApi
{
    public static void MapPreviewApi(this RouteGroupBuilder api)
    {
        api.MapPost("/preview", async (HttpRequest request, FilePreviewer previewer, CancellationToken ct) =>
        {
            var (body, error) = await ReadJsonAsync<PreviewRequest>(request);
            if (error is not null) return error;
            if (Missing(body!.CredentialId, body.Key) is { } missing) return missing;
            try
            {
                return TypedResults.Ok(await previewer.PreviewAsync(body, ct));
            }
            catch (PreviewException e)
            {
                return Problem(e);
            }
        }).WithTags("Preview").WithSummary("A file's inferred settings (overridable), columns with types, first rows and first bytes");

        api.MapPost("/feeds/infer", async (HttpRequest request, FilePreviewer previewer, CancellationToken ct) =>
        {
            var (body, error) = await ReadJsonAsync<FeedInferRequest>(request);
            if (error is not null) return error;
            if (Missing(body!.CredentialId, body.Key) is { } missing) return missing;
            try
            {
                var preview = await previewer.PreviewAsync(new PreviewRequest(body.CredentialId, body.Key, body.PgpCredentialId, body.Settings), ct);
                return TypedResults.Ok(FeedDraft.Build(preview, body.Source, body.Name, body.PrimaryKey, body.LastUpdatedField));
            }
            catch (PreviewException e)
            {
                return Problem(e);
            }
        }).WithTags("Feeds").WithSummary("A draft feed (not saved) from a sample file");
    }

    private static IResult? Missing(string? credentialId, string? key) =>
        string.IsNullOrWhiteSpace(credentialId) || string.IsNullOrWhiteSpace(key) ? Invalid("credentialId and key are required") : null;

    private static IResult Problem(PreviewException e) => e.Status switch
    {
        400 => Invalid(e.Message),
        404 => NotFound(e.Message),
        _ => TypedResults.Problem(statusCode: e.Status, title: "The file cannot be previewed", detail: e.Message),
    };
}
