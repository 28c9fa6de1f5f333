using System.Security.Cryptography;
using System.Text;
using HeapDaemon.Actors.Credentials;
using Xunit;

namespace HeapDaemon.Tests.Credentials;

public sealed class SecretProtectorSpecs
{
    private static readonly SecretProtector Protector = new(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));

    [Fact]
    public void A_secret_round_trips_and_its_ciphertext_does_not_contain_it()
    {
        var sealedSecret = Protector.Protect("wJalrXUtnFEMI/K7MDENG", "cred-1");

        Assert.DoesNotContain("wJalrXUtnFEMI", Encoding.UTF8.GetString(sealedSecret));
        Assert.Equal("wJalrXUtnFEMI/K7MDENG", Protector.Unprotect(sealedSecret, "cred-1"));
        Assert.NotEqual(sealedSecret, Protector.Protect("wJalrXUtnFEMI/K7MDENG", "cred-1"));
    }

    [Fact]
    public void A_secret_does_not_decrypt_under_another_owner_another_key_or_after_tampering()
    {
        var sealedSecret = Protector.Protect("s3cret", "cred-1");
        var otherKey = new SecretProtector(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
        var tampered = (byte[])sealedSecret.Clone();
        tampered[^1] ^= 1;

        Assert.Throws<CryptographicException>(() => Protector.Unprotect(sealedSecret, "cred-2"));
        var wrongKey = Assert.Throws<CryptographicException>(() => otherKey.Unprotect(sealedSecret, "cred-1"));
        Assert.Throws<CryptographicException>(() => Protector.Unprotect(tampered, "cred-1"));
        Assert.DoesNotContain("s3cret", wrongKey.Message);
    }

    [Fact]
    public void A_secret_sealed_under_a_previous_master_key_opens_and_says_so()
    {
        var oldKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var sealedSecret = new SecretProtector(oldKey).Protect("s3cret", "cred-1");
        var rotated = new SecretProtector(Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)), [oldKey]);

        Assert.Equal("s3cret", rotated.Unprotect(sealedSecret, "cred-1", out var underPreviousKey));
        Assert.True(underPreviousKey);
        Assert.Equal("s3cret", rotated.Unprotect(rotated.Protect("s3cret", "cred-1"), "cred-1", out underPreviousKey));
        Assert.False(underPreviousKey);
    }

    [Theory]
    [InlineData("not base64!")]
    [InlineData("c2hvcnQ=")]
    public void A_master_key_that_is_not_32_bytes_of_base64_is_refused_at_start(string key) =>
        Assert.Throws<InvalidOperationException>(() => new SecretProtector(key));
}
