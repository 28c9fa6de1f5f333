using Akka.Actor;
using Npgsql;

namespace HeapDaemon.Management;

/// <summary>An actor's reply an operation did not expect: its failure (the database, most often) as "try again"; the detail goes to the log.</summary>
public static class CourierReplyFailure
{
    public static Failure Of(object reply, string title = "The courier could not do it") =>
        reply is Status.Failure { Cause: var cause }
            ? Failure.Unavailable(title, UserMessage(cause))
            : Failure.Unavailable(title, "the courier gave an answer the daemon does not know; see the daemon's log");

    /// <summary>A failure's cause as a user reads it: PostgreSQL's own words when it answered, else what could not be reached.</summary>
    private static string UserMessage(Exception cause) => cause switch
    {
        PostgresException pg => PostgresErrors.Describe(pg),
        NpgsqlException or TimeoutException => "PostgreSQL cannot be reached right now; try again",
        _ => "see the daemon's log",
    };
}

/// <summary>Tells a PostgreSQL that cannot serve now from one that answered and refused.</summary>
public static class PostgresErrors
{
    /// <summary>Connection failures, shutdowns and restarts, too many connections, out of resources: worth another try.</summary>
    public static bool IsUnavailable(PostgresException e) =>
        e.SqlState.StartsWith("08", StringComparison.Ordinal) || e.SqlState.StartsWith("53", StringComparison.Ordinal) ||
        e.SqlState is "57P01" or "57P02" or "57P03";

    /// <summary>PostgreSQL's own message, its detail and hint when it gave them, and the SQLSTATE.</summary>
    public static string Describe(PostgresException e) =>
        $"PostgreSQL refused: {e.MessageText}{(e.Detail is { Length: > 0 } d ? $" ({d})" : "")}{(e.Hint is { Length: > 0 } h ? $"; hint: {h}" : "")} (SQLSTATE {e.SqlState})";
}
