namespace HeapDaemon.Actors.Stitch;

/// <summary>
/// The customer 360 row of one person: each group of fields is taken whole from the one record that wins the
/// precedence, so a name or an address is never stitched together from two records. A record wins by (1) its source's
/// place in <see cref="StitchSettings.SourcePriority"/> (a table, <c>crm.customers</c>, or a whole source, <c>crm</c>;
/// unlisted sources come after the listed ones), then (2) the newest <c>update-dt</c>, then (3) the value held by most
/// of the person's records, then (4) the smallest record (source, table, primary key), so the result never depends on
/// the order rows were read in.
/// </summary>
public sealed class CustomerMerge
{
    /// <summary>Fields taken together; the first field of a group decides "most frequent".</summary>
    public static readonly ProfileField[][] Groups =
    [
        [ProfileField.Surname, ProfileField.GivenName, ProfileField.FullName],
        [ProfileField.Address, ProfileField.Address2, ProfileField.City, ProfileField.State, ProfileField.Postal, ProfileField.Country],
        [ProfileField.Email], [ProfileField.Phone], [ProfileField.Birthdate], [ProfileField.Gender],
    ];

    private readonly ProfileRecords _records;
    private readonly int[] _priority;

    public CustomerMerge(ProfileRecords records, IReadOnlyList<string> sourcePriority)
    {
        _records = records;
        _priority = records.Tables.Select(t =>
        {
            // Source and table names are lowercase; a priority written in capitals means the same ones.
            var exact = sourcePriority.ToList().FindIndex(p => string.Equals(p, $"{t.Source}.{t.Feed}", StringComparison.OrdinalIgnoreCase));
            var source = sourcePriority.ToList().FindIndex(p => string.Equals(p, t.Source, StringComparison.OrdinalIgnoreCase));
            return exact >= 0 ? exact : source >= 0 ? source : sourcePriority.Count;
        }).ToArray();
    }

    /// <summary>The shown value of every field (index = <see cref="ProfileField"/>) for the person made of <paramref name="members"/>.</summary>
    public string?[] Merge(IReadOnlyList<int> members)
    {
        var values = new string?[ProfileFields.Count];
        foreach (var group in Groups)
        {
            var best = -1;
            var bestFrequency = 0;
            foreach (var record in members)
            {
                if (!group.Any(f => _records.Display(f, record) is not null)) continue;
                var frequency = Frequency(group[0], record, members);
                if (best < 0 || Better(record, frequency, best, bestFrequency)) (best, bestFrequency) = (record, frequency);
            }
            if (best < 0) continue;
            foreach (var field in group) values[(int)field] = _records.Display(field, best);
            if (group[0] == ProfileField.Surname) values[(int)ProfileField.FullName] = FullName(best);
        }
        return values;
    }

    /// <summary>The sources (<c>source.table</c>) of a person's records, sorted.</summary>
    public string[] Sources(IReadOnlyList<int> members) =>
        members.Select(r => _records.Tables[_records.Table[r]]).Select(t => $"{t.Source}.{t.Feed}").Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>The full name as written, else given name and surname.</summary>
    public string? FullName(int record)
    {
        if (_records.Display(ProfileField.FullName, record) is { } full) return full;
        var parts = new[] { _records.Display(ProfileField.GivenName, record), _records.Display(ProfileField.Surname, record) }.OfType<string>();
        var name = string.Join(' ', parts);
        return name.Length == 0 ? null : name;
    }

    private bool Better(int record, int frequency, int best, int bestFrequency)
    {
        var (p, q) = (_priority[_records.Table[record]], _priority[_records.Table[best]]);
        if (p != q) return p < q;
        var (u, v) = (_records.Updated[record], _records.Updated[best]);
        if (!u.Equals(v))
        {
            if (double.IsNaN(v)) return true;
            if (double.IsNaN(u)) return false;
            return u > v;
        }
        if (frequency != bestFrequency) return frequency > bestFrequency;
        return _records.CompareKeys(record, best) < 0;
    }

    private int Frequency(ProfileField field, int record, IReadOnlyList<int> members)
    {
        var key = _records.Key(field, record);
        if (key < 0 || members.Count > 1000) return 0;
        var count = 0;
        foreach (var other in members)
            if (_records.Key(field, other) == key) count++;
        return count;
    }
}
