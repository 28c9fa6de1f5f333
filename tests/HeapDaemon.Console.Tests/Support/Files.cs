using System.Diagnostics;

namespace HeapDaemon.Console.Tests.Support;

/// <summary>Files made by the real tools, as a sender makes them.</summary>
public static class Files
{
    public const string UsersCsv = """
        user_id,email,first_name,plan,score,updated_at
        1,ada@example.com,Ada,pro,9.5,2026-11-25 10:00:00
        2,grace@example.com,Grace,free,7.25,2026-11-25 11:00:00
        3,alan@example.com,Alan,pro,8.0,2026-11-25 12:00:00

        """;

    /// <summary>The bytes gzip writes for the text.</summary>
    public static byte[] Gzip(string text)
    {
        var start = new ProcessStartInfo("gzip", ["-c", "-n"]) { RedirectStandardInput = true, RedirectStandardOutput = true };
        using var process = Process.Start(start)!;
        using var output = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        process.StandardInput.Write(text);
        process.StandardInput.Close();
        copy.Wait();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"gzip exited with {process.ExitCode}");
        return output.ToArray();
    }
}
