using System.Runtime.InteropServices;

namespace HeapDaemon.Configuration;

/// <summary>
/// The C allocator's one setting the daemon changes. Arrow's Parquet reader takes its page buffers (each page
/// decompressed: up to a whole column chunk, megabytes) from malloc. glibc maps a block above its mmap threshold on
/// its own and unmaps it when freed, but raises the threshold to the size of each such block freed, after which the
/// pages come from its per-thread arenas, which keep freed memory. A fixed threshold stops the rise: peak RSS of a
/// 1 M-row Parquet load 315-334 MB with it, 522-574 MB and growing from run to run without (scripts/bench.sh).
/// </summary>
public static class GlibcMalloc
{
    private const int MmapThreshold = -3; // M_MMAP_THRESHOLD in malloc.h

    /// <summary>Blocks of this size and up are mapped on their own, so freeing one hands it back to the system.</summary>
    public const int MmapThresholdBytes = 256 << 10;

    /// <returns>Whether it was set: false where the C library is not glibc (musl has no mallopt).</returns>
    public static bool FixMmapThreshold()
    {
        if (!OperatingSystem.IsLinux()) return false;
        try
        {
            return MallOpt(MmapThreshold, MmapThresholdBytes) == 1;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [DllImport("libc.so.6", EntryPoint = "mallopt")]
    private static extern int MallOpt(int param, int value);
}
