using System.Text;
using HeapDaemon.Actors.Formats;
using HeapDaemon.Actors.Pgp;
using HeapDaemon.Actors.Streams;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Formats;

/// <summary>Keys made once per class by the real gpg: a current one, an old RSA one (rotation) and a stranger's.</summary>
public sealed class PgpKeys : IDisposable
{
    public readonly Gpg Gpg = new();
    public readonly string Current;
    public readonly string Old;
    public readonly string Stranger;

    public PgpKeys()
    {
        try
        {
            Current = Gpg.GenerateKey("current");
            Old = Gpg.GenerateKey("old", "rsa2048");
            Stranger = Gpg.GenerateKey("stranger");
        }
        catch
        {
            Gpg.Dispose(); // xunit disposes no fixture whose constructor threw: stop the agent gpg started here
            throw;
        }
    }

    public void Dispose() => Gpg.Dispose();
}

public sealed class PgpSpecs(PgpKeys keys) : IClassFixture<PgpKeys>
{
    private static readonly byte[] Plain = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Range(1, 20_000).Select(i => $"{i},user{i}@example.com,2026-11-01T10:00:00Z,{i}.25\n")));

    [Theory]
    [InlineData(false, "none", false)]
    [InlineData(false, "zip", false)]
    [InlineData(false, "zlib", true)]
    [InlineData(false, "bzip2", false)]
    [InlineData(true, "none", true)]
    [InlineData(true, "zip", false)]
    [InlineData(true, "zlib", false)]
    [InlineData(true, "bzip2", true)]
    public async Task A_message_made_by_gpg_decrypts_to_the_same_bytes(bool armor, string compression, bool signed)
    {
        var encrypted = keys.Gpg.Encrypt(Plain, keys.Current, armor, compression, signed ? keys.Old : null);

        Assert.Equal(Plain, await DecryptAsync(encrypted, Keyring(keys.Current)));
    }

    [Fact]
    public async Task A_keyring_with_the_old_and_the_new_key_decrypts_files_for_either_during_rotation()
    {
        var oneBlock = Keyring(keys.Old, keys.Current);
        var twoBlocks = PgpKeyring.Parse(keys.Gpg.ExportSecretKeys(keys.Old) + "\n" + keys.Gpg.ExportSecretKeys(keys.Current), Gpg.Passphrase);

        foreach (var keyring in new[] { oneBlock, twoBlocks })
        {
            Assert.Equal(2, keyring.Keys.Count);
            Assert.Equal(Plain, await DecryptAsync(keys.Gpg.Encrypt(Plain, keys.Old), keyring));
            Assert.Equal(Plain, await DecryptAsync(keys.Gpg.Encrypt(Plain, keys.Current, armor: true), keyring));
        }
    }

    [Fact]
    public async Task A_file_encrypted_to_another_key_fails_naming_the_key_ids()
    {
        var encrypted = keys.Gpg.Encrypt(Plain, keys.Stranger);

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => DecryptAsync(encrypted, Keyring(keys.Current)));

        Assert.Equal($"file cannot be decrypted using the provided PGP key: it was encrypted to key id {keys.Gpg.EncryptionKeyId(keys.Stranger)}, " +
                     $"and the credential holds {keys.Gpg.EncryptionKeyId(keys.Current)}", error.Message);
    }

    [Theory]
    [InlineData("none")]
    [InlineData("zip")]
    public async Task A_tampered_file_fails_its_integrity_check(string compression)
    {
        var encrypted = keys.Gpg.Encrypt(Plain, keys.Current, compression: compression);
        encrypted[encrypted.Length * 3 / 4] ^= 0x20;

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => DecryptAsync(encrypted, Keyring(keys.Current)));

        // Compressed, the damage may surface in the decompressor first; either way the file fails.
        Assert.Matches(compression == "none" ? @"^the PGP integrity check \(MDC\) failed" : @"^the PGP (integrity check \(MDC\) failed|data is)", error.Message);
    }

    [Fact]
    public async Task A_truncated_file_fails()
    {
        var encrypted = keys.Gpg.Encrypt(Plain, keys.Current, compression: "none");

        var error = await Assert.ThrowsAsync<UnreadableFileException>(() => DecryptAsync(encrypted[..(encrypted.Length / 2)], Keyring(keys.Current)));

        Assert.StartsWith("the PGP data is truncated or damaged", error.Message);
    }

    [Fact]
    public async Task An_encrypted_file_without_a_key_and_a_plain_file_with_one_say_which_setting_is_wrong()
    {
        var encrypted = keys.Gpg.Encrypt(Plain, keys.Current, armor: true);

        var noKey = await Assert.ThrowsAsync<UnreadableFileException>(() => DecryptAsync(encrypted, null));
        var notEncrypted = await Assert.ThrowsAsync<UnreadableFileException>(() => DecryptAsync(Plain, Keyring(keys.Current)));

        Assert.Equal("it is PGP-encrypted; set the file's pgpCredentialId to a PGP credential that holds its key", noKey.Message);
        Assert.Equal("it is not a PGP-encrypted message, but its settings name a PGP credential", notEncrypted.Message);
    }

    [Fact]
    public async Task Text_that_starts_like_a_packet_tag_is_not_taken_for_pgp()
    {
        // 'é' in UTF-8 is C3 A9, and C3 is also the tag of a new-format passphrase session key packet.
        var text = Encoding.UTF8.GetBytes("état,ville\n1,Paris\n");

        Assert.Equal(text, await DecryptAsync(text, null));
    }

    [Fact]
    public void A_key_that_cannot_decrypt_is_refused_with_the_reason_and_no_secret()
    {
        var secret = keys.Gpg.ExportSecretKeys(keys.Current);

        Assert.StartsWith("the passphrase does not unlock key ", Assert.Throws<PgpKeyException>(() => PgpKeyring.Parse(secret, "wrong")).Message);
        Assert.StartsWith("this is a public key", Assert.Throws<PgpKeyException>(() => PgpKeyring.Parse(keys.Gpg.ExportPublicKey(keys.Current), Gpg.Passphrase)).Message);
        Assert.StartsWith("privateKey must be an armored private key", Assert.Throws<PgpKeyException>(() => PgpKeyring.Parse("hello", "x")).Message);
        var damaged = secret.Replace(secret.Split('\n')[4], new string('A', secret.Split('\n')[4].Length));
        Assert.Equal("privateKey is not an OpenPGP private key or keyring (armored or binary)", Assert.Throws<PgpKeyException>(() => PgpKeyring.Parse(damaged, Gpg.Passphrase)).Message);
        var keyring = PgpKeyring.Parse(secret, Gpg.Passphrase);
        var key = Assert.Single(keyring.Keys);
        Assert.Equal(keys.Gpg.EncryptionKeyId(keys.Current), key.KeyId);
        Assert.Equal(["current <current@example.com>"], key.UserIds);
    }

    private PgpKeyring Keyring(params string[] uids) => PgpKeyring.Parse(keys.Gpg.ExportSecretKeys(uids), Gpg.Passphrase);

    private static async Task<byte[]> DecryptAsync(byte[] encrypted, PgpKeyring? keyring)
    {
        await using var file = await FileUnwrapper.OpenAsync(new CountingStream(new MemoryStream(encrypted)), FileSettings.Default, keyring, CancellationToken.None);
        var plain = new MemoryStream();
        await file.Content.CopyToAsync(plain);
        await file.FinishAsync(CancellationToken.None);
        return plain.ToArray();
    }
}
