using System.Security.Cryptography;
using HeapDaemon.Actors.Credentials;
using HeapDaemon.Actors.Loading;
using HeapDaemon.Actors.Pgp;
using HeapDaemon.Tests.Formats;
using HeapDaemon.Tests.Support;
using Npgsql;
using Xunit;

namespace HeapDaemon.Tests.Credentials;

/// <summary>PGP credentials as a load reads them: sealed in PostgreSQL, unlocked once, and never stale.</summary>
public sealed class PgpKeyCatalogSpecs(PgpKeys keys) : IClassFixture<PgpKeys>, IAsyncLifetime
{
    private string _connectionString = "";
    private NpgsqlDataSource _db = null!;
    private SecretProtector _protector = null!;

    public async Task InitializeAsync()
    {
        _connectionString = await TestEnvironment.CreateDatabaseAsync();
        _db = NpgsqlDataSource.Create(_connectionString);
        await MetadataSchema.EnsureAsync(_db, CancellationToken.None);
        _protector = new SecretProtector(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
    }

    public async Task DisposeAsync()
    {
        await _db.DisposeAsync();
        await TestEnvironment.DropDatabaseAsync(_connectionString);
    }

    [Fact]
    public async Task A_keyring_is_unlocked_once_and_a_credential_added_again_under_its_id_gives_its_new_key()
    {
        var catalog = new PgpKeyCatalog(_db, _protector);
        await AddAsync(catalog, keys.Current);

        var first = await catalog.GetKeyringAsync("pgp-1", default);
        Assert.Same(first, await catalog.GetKeyringAsync("pgp-1", default));
        Assert.Equal(keys.Gpg.EncryptionKeyId(keys.Current), first!.Keys.Single().KeyId);

        Assert.True(await new CredentialCatalog(_db, _protector).DeleteAsync("pgp-1", default));
        Assert.Null(await catalog.GetKeyringAsync("pgp-1", default));

        await AddAsync(catalog, keys.Stranger);
        var replaced = await catalog.GetKeyringAsync("pgp-1", default);
        Assert.Equal(keys.Gpg.EncryptionKeyId(keys.Stranger), replaced!.Keys.Single().KeyId);
        Assert.NotNull(replaced.Find(Convert.ToInt64(replaced.Keys[0].KeyId, 16)));
    }

    private async Task AddAsync(PgpKeyCatalog catalog, string uid)
    {
        var privateKey = keys.Gpg.ExportSecretKeys(uid);
        var keyring = PgpKeyring.Parse(privateKey, Gpg.Passphrase);
        Assert.True(await catalog.AddAsync(new PgpCredential("pgp-1", keyring.Keys), privateKey, Gpg.Passphrase, null, default));
    }
}
