using System.Text;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Streams;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Formats;

/// <summary>gzip, zip, tar and tgz made by the real tools, opened in Amperity's order and with its rules.</summary>
public sealed class ArchiveSpecs : IDisposable
{
    private const string Users = "id,name\n1,ada\n2,grace\n";
    private const string Others = "id,name\n3,alan\n";
    private readonly Scratch _scratch = new();

    [Fact]
    public async Task Gzip_is_recognised_by_its_bytes_and_opened_without_being_asked()
    {
        _scratch.Write("users.csv", Users);
        var gz = _scratch.Run("gzip", "-c", "users.csv");

        Assert.Equal(Users, await ReadAsync(gz, FileSettings.Default));
        Assert.Equal(Users, await ReadAsync(gz, new FileSettings(Compression: Compression.Gzip)));
    }

    [Fact]
    public async Task Concatenated_gzip_members_are_one_file()
    {
        _scratch.Write("a.csv", Users);
        _scratch.Write("b.csv", "3,alan\n");

        var gz = _scratch.Run("gzip", "-c", "a.csv").Concat(_scratch.Run("gzip", "-c", "b.csv")).ToArray();

        Assert.Equal(Users + "3,alan\n", await ReadAsync(gz, FileSettings.Default));
    }

    [Fact]
    public async Task Compression_none_reads_gzip_bytes_as_they_are_and_gzip_refuses_a_file_that_is_not()
    {
        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(Encoding.UTF8.GetBytes(Users), new FileSettings(Compression: Compression.Gzip)));

        Assert.Equal("it is not gzip-compressed (no gzip magic bytes), but its compression is 'gzip'", error.Message);
    }

    [Fact]
    public async Task A_truncated_gzip_fails_saying_where()
    {
        _scratch.Write("big.csv", string.Concat(Enumerable.Range(0, 50_000).Select(i => $"{i},name{i}\n")));
        var gz = _scratch.Run("gzip", "-c", "big.csv");

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(gz[..(gz.Length / 2)], FileSettings.Default));
        var noTrailer = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(gz[..^4], FileSettings.Default));

        Assert.StartsWith($"the gzip data is truncated or damaged after {gz.Length / 2} compressed bytes", error.Message);
        Assert.StartsWith("the gzip data is truncated or damaged", noTrailer.Message);
    }

    [Theory]
    [InlineData("users.csv", "data/users.csv")]
    [InlineData("data/users.csv", "data/users.csv")]
    [InlineData("users*.csv", "data/users.csv")]
    [InlineData("d?ta/u*", "data/users.csv")]
    public async Task A_zip_member_is_chosen_by_name_or_wildcard(string member, string expected)
    {
        _scratch.Write("data/users.csv", Users);
        _scratch.Write("data/others.csv", Others);
        _scratch.Write("readme.txt", "hello");
        var zip = _scratch.Run("zip", "-q", "-r", "-", "data", "readme.txt");

        await using var file = await FileUnwrapper.OpenAsync(new CountingStream(new MemoryStream(zip)), new FileSettings(Compression: Compression.Zip, Member: member), null, default);

        Assert.Equal($"zip member '{expected}'", file.Description);
        Assert.Equal(Users, await new StreamReader(file.Content).ReadToEndAsync());
    }

    [Theory]
    [InlineData(null, "the archive holds several files ('data/users.csv', 'data/others.csv', 'readme.txt'); set member to choose one")]
    [InlineData("*.csv", "several members of the archive match '*.csv': 'data/users.csv', 'data/others.csv'")]
    [InlineData("nope.csv", "no member of the archive matches 'nope.csv'; it holds 'data/users.csv', 'data/others.csv', 'readme.txt'")]
    public async Task A_zip_member_setting_that_does_not_pick_exactly_one_file_fails_saying_why(string? member, string reason)
    {
        _scratch.Write("data/users.csv", Users);
        _scratch.Write("data/others.csv", Others);
        _scratch.Write("readme.txt", "hello");
        var zip = _scratch.Run("zip", "-q", "-r", "-", "data", "readme.txt");

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(zip, new FileSettings(Compression: Compression.Zip, Member: member)));

        Assert.Equal(reason, error.Message);
    }

    [Theory]
    [InlineData("tar", "cf")]
    [InlineData("tgz", "czf")]
    [InlineData("tar", "czf")] // a gzip around a tar is opened first, as Amperity opens gzip by itself
    public async Task A_tar_member_streams_out_of_a_tar_or_tgz(string compression, string flags)
    {
        _scratch.Write("data/users.csv", Users);
        _scratch.Write("data/others.csv", Others);
        _scratch.Run("tar", flags, "archive", "data");

        var settings = new FileSettings(Compression: Enum.Parse<Compression>(compression, true), Member: "others.csv");

        Assert.Equal(Others, await ReadAsync(_scratch.Read("archive"), settings));
    }

    [Fact]
    public async Task A_second_tar_member_that_matches_fails_the_file_at_its_end()
    {
        _scratch.Write("data/users.csv", Users);
        _scratch.Write("data/others.csv", Others);
        _scratch.Run("tar", "cf", "archive.tar", "data/users.csv", "data/others.csv");

        var several = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(_scratch.Read("archive.tar"), new FileSettings(Compression: Compression.Tar, Member: "*.csv")));
        var none = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(_scratch.Read("archive.tar"), new FileSettings(Compression: Compression.Tar, Member: "x.csv")));
        var unnamed = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(_scratch.Read("archive.tar"), new FileSettings(Compression: Compression.Tar)));

        Assert.Equal("several members of the tar archive match '*.csv': 'data/users.csv', 'data/others.csv'", several.Message);
        Assert.Equal("no member of the tar archive matches 'x.csv'; it holds 'data/users.csv', 'data/others.csv'", none.Message);
        Assert.Equal("the tar archive holds several files ('data/users.csv', 'data/others.csv'...); set member to choose one", unnamed.Message);
    }

    [Fact]
    public async Task A_truncated_tar_fails()
    {
        _scratch.Write("big.csv", string.Concat(Enumerable.Range(0, 5_000).Select(i => $"{i},name{i}\n")));
        _scratch.Run("tar", "cf", "archive.tar", "big.csv");
        var tar = _scratch.Read("archive.tar");

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(tar[..(tar.Length / 2)], new FileSettings(Compression: Compression.Tar)));

        Assert.StartsWith("tar member 'big.csv' is truncated", error.Message);
    }

    [Fact]
    public async Task An_archive_that_was_not_asked_for_is_named_rather_than_read_as_text()
    {
        _scratch.Write("users.csv", Users);
        var zip = _scratch.Run("zip", "-q", "-", "users.csv");
        _scratch.Run("tar", "czf", "users.tgz", "users.csv");

        Assert.Equal("it is a zip archive; set compression 'zip' (and member, if it holds several files)",
            (await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(zip, FileSettings.Default))).Message);
        Assert.Equal("it is a tar archive; set compression 'tgz' (and member, if it holds several files)",
            (await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(_scratch.Read("users.tgz"), FileSettings.Default))).Message);
        Assert.StartsWith("it is not a zip archive, or the archive is damaged",
            (await Assert.ThrowsAsync<UnreadableFileException>(() => ReadAsync(zip[..^30], new FileSettings(Compression: Compression.Zip)))).Message);
    }

    private static async Task<string> ReadAsync(byte[] bytes, FileSettings settings)
    {
        await using var file = await FileUnwrapper.OpenAsync(new CountingStream(new MemoryStream(bytes)), settings, null, default);
        var text = await new StreamReader(file.Content).ReadToEndAsync();
        await file.FinishAsync(default);
        return text;
    }

    public void Dispose() => _scratch.Dispose();
}
