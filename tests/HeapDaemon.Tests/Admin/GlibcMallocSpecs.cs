using HeapDaemon.Configuration;
using Xunit;

namespace HeapDaemon.Tests.Admin;

public sealed class GlibcMallocSpecs
{
    /// <summary>A wrong library or entry point name would only cost memory, silently; this machine runs glibc, as the image does.</summary>
    [Fact]
    public void The_daemon_fixes_glibcs_mmap_threshold() => Assert.True(GlibcMalloc.FixMmapThreshold());
}
