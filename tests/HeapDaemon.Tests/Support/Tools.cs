using System.Diagnostics;

namespace HeapDaemon.Tests.Support;

/// <summary>Files made by the real command-line tools (gzip, zip, tar) in a scratch folder.</summary>
public sealed class Scratch : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory("heapd-test-").FullName;

    public string Write(string name, string content) => Write(name, System.Text.Encoding.UTF8.GetBytes(content));

    public string Write(string name, byte[] content)
    {
        var path = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return path;
    }

    public byte[] Read(string name) => File.ReadAllBytes(System.IO.Path.Combine(Path, name));

    /// <summary>Runs a tool in the scratch folder; returns its standard output.</summary>
    public byte[] Run(string tool, params string[] args)
    {
        var start = new ProcessStartInfo(tool) { WorkingDirectory = Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args) start.ArgumentList.Add(arg);
        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        process.StandardOutput.BaseStream.CopyTo(output);
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', args)} failed: {stderr.Result}");
        return output.ToArray();
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
