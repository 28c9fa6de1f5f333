using System.Collections.Immutable;
using System.Text;
using System.Text.RegularExpressions;

namespace HeapDaemon.Actors.Couriers;

/// <summary>
/// A dated filename pattern in Amperity's (Joda-Time) syntax: literal text in single quotes (<c>''</c> is a quote),
/// date components <c>yyyy</c>, <c>MM</c>, <c>dd</c>, <c>HH</c> and <c>mm</c>, and <c>*</c>, which matches any
/// characters up to the next '/'. Characters that are not letters are literal even unquoted. Example:
/// <c>'exports/'yyyy'/'MM'/'dd'/users_*.csv'</c> on 2026-11-26 finds <c>exports/2026/11/26/users_*.csv</c>.
/// </summary>
/// <remarks>
/// A run is per day, so <c>HH</c> and <c>mm</c> match every hour and minute of the run's days (two digits each).
/// </remarks>
public sealed class FilenamePattern
{
    private readonly ImmutableArray<Token> _tokens;

    private FilenamePattern(string text, ImmutableArray<Token> tokens)
    {
        Text = text;
        _tokens = tokens;
    }

    public string Text { get; }

    /// <summary>Whether the pattern names a day; one without date components finds the same files every day.</summary>
    public bool IsDated => _tokens.Any(t => t is DateToken { Component: DateComponent.Year or DateComponent.Month or DateComponent.Day });

    public override string ToString() => Text;

    public static FilenamePattern Parse(string text) =>
        TryParse(text, out var pattern, out var error) ? pattern : throw new FormatException(error);

    public static bool TryParse(string text, out FilenamePattern pattern, out string error)
    {
        pattern = null!;
        error = "";
        if (string.IsNullOrEmpty(text) || text.Length > 1024)
        {
            error = "a pattern must be 1-1024 characters";
            return false;
        }
        var tokens = new List<Token>();
        var literal = new StringBuilder();
        var quoted = false;
        void Flush()
        {
            if (literal.Length > 0) tokens.Add(new LiteralToken(literal.ToString()));
            literal.Clear();
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\'')
            {
                // '' is a quote character, inside quoted text or out of it (Joda-Time).
                if (i + 1 < text.Length && text[i + 1] == '\'') { literal.Append('\''); i++; }
                else quoted = !quoted;
            }
            else if (c == '*')
            {
                Flush();
                if (tokens.LastOrDefault() is not WildcardToken) tokens.Add(WildcardToken.Instance);
            }
            else if (quoted || !char.IsAsciiLetter(c))
            {
                literal.Append(c);
            }
            else
            {
                var run = 1;
                while (i + run < text.Length && text[i + run] == c) run++;
                var letters = text.Substring(i, run);
                DateComponent? component = letters switch
                {
                    "yyyy" => DateComponent.Year,
                    "MM" => DateComponent.Month,
                    "dd" => DateComponent.Day,
                    "HH" => DateComponent.Hour,
                    "mm" => DateComponent.Minute,
                    _ => null,
                };
                if (component is null)
                {
                    var hint = letters is "YYYY" or "yy" or "YY" ? " (a four-digit year is yyyy)" : letters is "DD" or "d" ? " (day of month is dd)" : "";
                    error = $"pattern \"{text}\": '{letters}' at position {i + 1} is not a date component{hint}; use yyyy, MM, dd, HH or mm, and put literal text in single quotes";
                    return false;
                }
                Flush();
                tokens.Add(new DateToken(component.Value));
                i += run - 1;
            }
        }
        if (quoted)
        {
            error = $"pattern \"{text}\": a quote is not closed (write a literal quote as '')";
            return false;
        }
        Flush();
        pattern = new FilenamePattern(text, [.. tokens]);
        return true;
    }

    /// <summary>The pattern for one day: year, month and day filled in, split into '/'-separated segments.</summary>
    public ExpandedPattern For(DateOnly day)
    {
        var segments = new List<Segment>();
        var parts = new List<Token>();
        void AddLiteral(string text)
        {
            // A '/' inside literal text ends a segment.
            var pieces = text.Split('/');
            for (var p = 0; p < pieces.Length; p++)
            {
                if (p > 0)
                {
                    segments.Add(new Segment([.. parts]));
                    parts.Clear();
                }
                if (pieces[p].Length > 0) parts.Add(parts.LastOrDefault() is LiteralToken last ? Replace(last, pieces[p]) : new LiteralToken(pieces[p]));
            }
        }
        LiteralToken Replace(LiteralToken last, string more)
        {
            parts.RemoveAt(parts.Count - 1);
            return new LiteralToken(last.Text + more);
        }
        foreach (var token in _tokens)
        {
            switch (token)
            {
                case LiteralToken literal: AddLiteral(literal.Text); break;
                case DateToken { Component: DateComponent.Year }: AddLiteral(day.Year.ToString("D4")); break;
                case DateToken { Component: DateComponent.Month }: AddLiteral(day.Month.ToString("D2")); break;
                case DateToken { Component: DateComponent.Day }: AddLiteral(day.Day.ToString("D2")); break;
                default: parts.Add(token); break;
            }
        }
        segments.Add(new Segment([.. parts]));
        return new ExpandedPattern(segments);
    }

    internal enum DateComponent { Year, Month, Day, Hour, Minute }

    internal abstract record Token;

    internal sealed record LiteralToken(string Text) : Token;

    internal sealed record DateToken(DateComponent Component) : Token;

    internal sealed record WildcardToken : Token
    {
        public static readonly WildcardToken Instance = new();
    }

    /// <summary>One path segment of an expanded pattern: literal text, or something to match against a listing.</summary>
    public sealed class Segment
    {
        private readonly ImmutableArray<Token> _parts;
        private readonly Regex? _regex;

        internal Segment(ImmutableArray<Token> parts)
        {
            _parts = parts;
            IsLiteral = parts.All(p => p is LiteralToken);
            LiteralPrefix = parts.TakeWhile(p => p is LiteralToken).Cast<LiteralToken>().Aggregate("", (s, l) => s + l.Text);
            if (!IsLiteral) _regex = new Regex("^" + string.Concat(parts.Select(ToRegex)) + "$", RegexOptions.CultureInvariant);
        }

        public bool IsLiteral { get; }

        /// <summary>The literal text the segment starts with: what a listing can ask S3 for as a prefix.</summary>
        public string LiteralPrefix { get; }

        public bool Matches(string name) => _regex?.IsMatch(name) ?? name == LiteralPrefix;

        public override string ToString() => string.Concat(_parts.Select(p => p switch
        {
            LiteralToken l => l.Text,
            DateToken { Component: DateComponent.Hour } => "HH",
            DateToken { Component: DateComponent.Minute } => "mm",
            _ => "*",
        }));

        private static string ToRegex(Token token) => token switch
        {
            LiteralToken l => Regex.Escape(l.Text),
            WildcardToken => "[^/]*",
            DateToken { Component: DateComponent.Hour } => "(?:[01][0-9]|2[0-3])",
            DateToken { Component: DateComponent.Minute } => "[0-5][0-9]",
            _ => throw new InvalidOperationException($"unexpanded {token}"),
        };
    }
}

/// <summary>A pattern for one day, as path segments; what <see cref="FileResolver"/> walks in S3.</summary>
public sealed class ExpandedPattern(IReadOnlyList<FilenamePattern.Segment> segments)
{
    public IReadOnlyList<FilenamePattern.Segment> Segments { get; } = segments;

    /// <summary>The longest literal start: every match begins with it.</summary>
    public string LiteralPrefix
    {
        get
        {
            var prefix = new StringBuilder();
            foreach (var segment in Segments)
            {
                if (!segment.IsLiteral) return prefix.Append(segment.LiteralPrefix).ToString();
                prefix.Append(segment.LiteralPrefix);
                if (!ReferenceEquals(segment, Segments[^1])) prefix.Append('/');
            }
            return prefix.ToString();
        }
    }

    /// <summary>Whether a whole key matches.</summary>
    public bool Matches(string key)
    {
        var names = key.Split('/');
        return names.Length == Segments.Count && names.Zip(Segments).All(p => p.Second.Matches(p.First));
    }

    /// <summary>The pattern as a user reads it for that day, e.g. <c>exports/2026/11/26/users_*.csv</c>.</summary>
    public override string ToString() => string.Join('/', Segments);
}
