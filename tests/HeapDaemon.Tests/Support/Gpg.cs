using System.Diagnostics;
using System.Text;

namespace HeapDaemon.Tests.Support;

/// <summary>
/// The real GnuPG, with throwaway keys in a temporary home: files encrypted the way a sender encrypts them.
/// Keys are ed25519 with a cv25519 encryption subkey (GnuPG's future-default) unless RSA is asked for.
/// </summary>
public sealed class Gpg : IDisposable
{
    public const string Passphrase = "correct horse battery staple";

    // Created mode 700, as gpg wants its home; short, as the agent's socket path must be.
    private readonly string _home = Directory.CreateTempSubdirectory("gpg-").FullName;

    /// <summary>Generates a primary key and an encryption subkey; returns the uid to name them by.</summary>
    public string GenerateKey(string name, string algorithm = "future-default")
    {
        var uid = $"{name} <{name}@example.com>";
        if (algorithm == "future-default")
        {
            Run(["--passphrase", Passphrase, "--quick-gen-key", uid, algorithm, "default", "never"]);
            return uid;
        }
        Run(["--passphrase", Passphrase, "--quick-gen-key", uid, algorithm, "sign,cert", "never"]);
        var fingerprint = Encoding.ASCII.GetString(Run(["--with-colons", "--list-keys", uid])).Split('\n')
            .First(l => l.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
        Run(["--passphrase", Passphrase, "--quick-add-key", fingerprint, algorithm, "encr", "never"]);
        return uid;
    }

    /// <summary>The armored private keys of the given uids (one block holding all of them).</summary>
    public string ExportSecretKeys(params string[] uids) =>
        Encoding.ASCII.GetString(Run(["--passphrase", Passphrase, "--armor", "--export-secret-keys", .. uids]));

    public string ExportPublicKey(string uid) => Encoding.ASCII.GetString(Run(["--armor", "--export", uid]));

    /// <summary>The key id (16 hex digits) of the uid's encryption subkey, as a message names its recipient.</summary>
    public string EncryptionKeyId(string uid) =>
        Encoding.ASCII.GetString(Run(["--with-colons", "--list-keys", uid])).Split('\n')
            .First(l => l.StartsWith("sub:", StringComparison.Ordinal)).Split(':')[4];

    /// <param name="compression">none, zip, zlib or bzip2.</param>
    public byte[] Encrypt(byte[] plain, string recipient, bool armor = false, string compression = "zip", string? signer = null)
    {
        var input = Path.Combine(_home, $"in-{Guid.NewGuid():N}");
        File.WriteAllBytes(input, plain);
        List<string> args = ["--trust-model", "always", "--recipient", recipient, "--compress-algo", compression];
        if (armor) args.Add("--armor");
        if (signer is not null) args.AddRange(["--passphrase", Passphrase, "--local-user", signer, "--sign"]);
        args.AddRange(["--output", "-", "--encrypt", input]);
        try { return Run(args); }
        finally { File.Delete(input); }
    }

    /// <summary>A signed message, not encrypted (<c>gpg --sign</c>): one-pass signature, literal data, signature packets.</summary>
    public byte[] Sign(byte[] plain, string signer, string compression = "none")
    {
        var input = Path.Combine(_home, $"in-{Guid.NewGuid():N}");
        File.WriteAllBytes(input, plain);
        try { return Run(["--passphrase", Passphrase, "--local-user", signer, "--compress-algo", compression, "--output", "-", "--sign", input]); }
        finally { File.Delete(input); }
    }

    private byte[] Run(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("gpg") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "--homedir", _home, "--batch", "--yes", "--pinentry-mode", "loopback" }.Concat(args)) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var stderr = process.StandardError.ReadToEndAsync();
        process.StandardOutput.BaseStream.CopyTo(output);
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"gpg {string.Join(' ', args)} failed: {stderr.Result}");
        return output.ToArray();
    }

    public void Dispose()
    {
        try { Process.Start("gpgconf", ["--homedir", _home, "--kill", "gpg-agent"])?.WaitForExit(); }
        finally { Directory.Delete(_home, recursive: true); }
    }
}
