namespace HeapDaemon.Configuration;

/// <summary>
/// Akka's log entries reach Microsoft.Extensions.Logging with their message's values by name (<c>{CourierId}</c>,
/// <c>{RunId}</c>), but in a state that is only enumerable, which the JSON console formatter does not list. This factory,
/// given to Akka's logger, hands such a state on as a list, so each value is a field of the JSON line.
/// </summary>
public sealed class StructuredLogState(ILoggerFactory inner) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new Logger(inner.CreateLogger(categoryName));

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The host owns the factory.
    }

    private sealed class Logger(ILogger inner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (state is IEnumerable<KeyValuePair<string, object?>> values and not IReadOnlyCollection<KeyValuePair<string, object?>>)
            {
                var message = formatter(state, exception);
                inner.Log(logLevel, eventId, new Values([.. values], message), exception, (s, _) => s.Message);
            }
            else
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }

    private sealed class Values(List<KeyValuePair<string, object?>> values, string message) : List<KeyValuePair<string, object?>>(values)
    {
        public string Message { get; } = message;

        public override string ToString() => Message;
    }
}
