using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using HeapDaemon.Tests.Formats;
using HeapDaemon.Tests.Support;
using Xunit;

namespace HeapDaemon.Tests.Admin;

/// <summary>A credential a courier uses cannot be deleted from under it; the refusal names the couriers.</summary>
public sealed class CredentialInUseSpecs(PgpKeys keys) : DaemonSpecs, IClassFixture<PgpKeys>
{
    [Fact]
    public async Task A_credential_in_use_by_couriers_is_refused_with_409_naming_them_even_after_a_restart()
    {
        await CreateCourierAsync("files", "users.csv");
        await Api.PostOkAsync("/api/couriers", new { id = "heap", credentialId = "moto", kind = "heap" });
        await Api.PostOkAsync("/api/credentials", new { id = "pgp-key", kind = "pgp", privateKey = keys.Gpg.ExportSecretKeys(keys.Current), passphrase = Gpg.Passphrase });
        await Api.PostOkAsync("/api/couriers", new
        {
            id = "encrypted", credentialId = "moto",
            files = new object[] { new { key = "plain.csv", feedId = "heap-users" }, new { key = "users.csv.gpg", feedId = "heap-users", pgpCredentialId = "pgp-key" } },
        });
        await RestartDaemonAsync();

        var s3 = await Api.DeleteAsync("/api/credentials/moto");
        var pgp = await Api.DeleteAsync("/api/credentials/pgp-key");

        Assert.Equal(HttpStatusCode.Conflict, s3.StatusCode);
        var s3Problem = JsonDocument.Parse(await s3.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(["encrypted", "files", "heap"], s3Problem.GetProperty("couriers").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("credential 'moto' is used by courier 'encrypted' (credentialId), courier 'files' (credentialId), courier 'heap' (credentialId)",
            s3Problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.Conflict, pgp.StatusCode);
        Assert.Contains("credential 'pgp-key' is used by courier 'encrypted' (files[1].pgpCredentialId)", await pgp.Content.ReadAsStringAsync());
        Assert.Equal(2, (await QueryAsync("SELECT id FROM heapd.credentials")).Count);
    }

    [Fact]
    public async Task A_credential_no_courier_uses_any_more_is_deleted()
    {
        await CreateCourierAsync("before", "users.csv");
        await Api.PostOkAsync("/api/credentials", new { id = "other", kind = "s3", bucket = Bucket, endpointUrl = TestEnvironment.S3Endpoint, accessKeyId = "test", secretAccessKey = "test" });
        var moved = await Api.PutAsJsonAsync("/api/couriers/before", new { credentialId = "other", files = new[] { new { key = "users.csv", feedId = "heap-users" } } });
        Assert.True(moved.IsSuccessStatusCode, await moved.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await Api.DeleteAsync("/api/credentials/moto")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await Api.DeleteAsync("/api/credentials/other")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Api.DeleteAsync("/api/couriers/before")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await Api.DeleteAsync("/api/credentials/other")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.DeleteAsync("/api/credentials/other")).StatusCode);
        Assert.Empty(await QueryAsync("SELECT id FROM heapd.credentials"));
    }
}
