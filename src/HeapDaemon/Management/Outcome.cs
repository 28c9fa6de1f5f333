namespace HeapDaemon.Management;

/// <summary>Why an operation did not happen, as the HTTP edge (a status) and the console (a sentence in place) both say it.</summary>
public enum FailureKind
{
    /// <summary>The request itself is wrong: every problem is listed, so a user fixes them in one go.</summary>
    Invalid,
    NotFound,
    /// <summary>Valid, but the state of things refuses it (an id taken, a run not ended, a credential in use).</summary>
    Conflict,
    TooLarge,
    /// <summary>The object was read but is not what was asked for (a file the preview cannot parse).</summary>
    Unprocessable,
    /// <summary>S3 or STS refused, or could not be reached.</summary>
    Upstream,
    /// <summary>PostgreSQL or the actors cannot answer right now; try again.</summary>
    Unavailable,
}

/// <param name="Errors">Each problem as a sentence; <see cref="Message"/> joins them.</param>
/// <param name="Title">The kind of failure in words, where the kind alone does not say it (e.g. "S3 refused to list the bucket").</param>
/// <param name="Details">Facts a client acts on (<c>cause</c>, <c>code</c>, <c>couriers</c>), shown by the API as ProblemDetails fields.</param>
public sealed record Failure(FailureKind Kind, IReadOnlyList<string> Errors, string? Title = null, IReadOnlyDictionary<string, object?>? Details = null)
{
    public string Message => string.Join("; ", Errors);

    public static Failure Invalid(params IReadOnlyList<string> errors) => new(FailureKind.Invalid, errors);

    public static Failure NotFound(string error) => new(FailureKind.NotFound, [error]);

    public static Failure Conflict(string error, IReadOnlyDictionary<string, object?>? details = null) => new(FailureKind.Conflict, [error], Details: details);

    public static Failure Unavailable(string title, string? detail = null) => new(FailureKind.Unavailable, detail is null ? [] : [detail], title);
}

/// <summary>What an operation gave: its value, or why not. Both edges switch on it; neither decides anything itself.</summary>
public readonly record struct Outcome<T>(T? Value, Failure? Failure)
{
    public bool Succeeded => Failure is null;

    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(Failure failure) => new(default, failure);
}
