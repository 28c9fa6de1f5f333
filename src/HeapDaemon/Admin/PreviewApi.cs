using HeapDaemon.Access;
using HeapDaemon.Actors.Preview;
using HeapDaemon.Management;
using Microsoft.AspNetCore.Http.HttpResults;

namespace HeapDaemon.Admin;

/// <summary>
/// The file browser's next step: look at a file, and draft a feed from it. Both read a customer's object, so both are
/// for admins.
/// </summary>
public static class PreviewApi
{
    public static void MapPreviewApi(this RouteGroupBuilder api)
    {
        api.MapPost("/preview", PreviewAsync).WithName("PreviewFile").WithTags("Preview").ForAdmins()
            .WithSummary("A file's inferred settings (overridable), columns with types, first rows and first bytes");
        api.MapPost("/feeds/infer", InferFeedAsync).WithName("InferFeed").WithTags("Feeds").ForAdmins()
            .WithSummary("A draft feed (not saved) from a sample file");
    }

    public static async Task<Results<Ok<FilePreview>, InvalidProblem, NotFoundProblem, TooLargeProblem, UnprocessableProblem, UpstreamProblem>> PreviewAsync(
        PreviewRequest body, PreviewService previews, CancellationToken ct) => Answer(await previews.PreviewAsync(body, ct));

    public static async Task<Results<Ok<FeedDraftView>, InvalidProblem, NotFoundProblem, TooLargeProblem, UnprocessableProblem, UpstreamProblem>> InferFeedAsync(
        FeedInferRequest body, PreviewService previews, CancellationToken ct) => Answer(await previews.InferFeedAsync(body, ct));

    private static Results<Ok<T>, InvalidProblem, NotFoundProblem, TooLargeProblem, UnprocessableProblem, UpstreamProblem> Answer<T>(Outcome<T> outcome) =>
        outcome switch
        {
            { Failure: null, Value: var value } => TypedResults.Ok(value),
            { Failure: { Kind: FailureKind.Invalid } f } => f.AsInvalid(),
            { Failure: { Kind: FailureKind.NotFound } f } => f.AsNotFound(),
            { Failure: { Kind: FailureKind.TooLarge } f } => f.AsTooLarge(),
            { Failure: { Kind: FailureKind.Unprocessable } f } => f.AsUnprocessable(),
            { Failure: var f } => f.AsUpstream(),
        };
}
