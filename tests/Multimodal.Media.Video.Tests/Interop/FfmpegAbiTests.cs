// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using Multimodal.Testing;

namespace Multimodal.Media.Video.Interop.Ffmpeg;

public sealed class FfmpegAbiTests
{
    [Fact(Timeout = 120_000)]
    public async Task EveryOffset_EqualsTheInstalledHeaders()
    {
        // Arrange: compile abi_offsets.c against the headers pkg-config names. gcc and the -dev packages are installed by
        // eng/bootstrap.sh; a missing tool fails this test instead of skipping it.
        await Task.Yield();
        var source = RepositoryPaths.Combine("tests", "Multimodal.Media.Video.Tests", "Interop", "abi_offsets.c");
        var exe = Path.Combine(Path.GetTempPath(), $"ffmpeg_abi_{Environment.ProcessId}");
        var cflags = Run("pkg-config", "--cflags libavformat libavcodec libavutil libswscale").Trim();
        Run("gcc", $"-Wno-deprecated-declarations {cflags} {source} -o {exe}");

        // Act
        var lines = Run(exe, string.Empty).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        File.Delete(exe);

        // Assert
        var c = lines.Where(l => !l.StartsWith("VERSIONS", StringComparison.Ordinal)).Select(l => l.Split(' ')).ToDictionary(p => p[0], p => int.Parse(p[1], CultureInfo.InvariantCulture));
        var managed = typeof(FfmpegAbi).GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral).ToDictionary(f => f.Name, f => (int)f.GetRawConstantValue()!);
        Assert.Equal(managed.Keys.Order(), c.Keys.Order());
        foreach (var (name, offset) in managed)
        {
            Assert.True(c[name] == offset, $"{name}: FfmpegAbi says {offset}, the headers say {c[name]}");
        }

        var majors = lines.Single(l => l.StartsWith("VERSIONS", StringComparison.Ordinal)).Split(' ')[1..].Select(int.Parse).ToArray();
        Assert.Equal(FfmpegLibraries.Specs.Single(s => s.LogicalName == FfmpegLibraries.AvFormat).SupportedMajor, majors[0]);
        Assert.Equal(FfmpegLibraries.Specs.Single(s => s.LogicalName == FfmpegLibraries.AvCodec).SupportedMajor, majors[1]);
        Assert.Equal(FfmpegLibraries.Specs.Single(s => s.LogicalName == FfmpegLibraries.AvUtil).SupportedMajor, majors[2]);
        Assert.Equal(FfmpegLibraries.Specs.Single(s => s.LogicalName == FfmpegLibraries.SwScale).SupportedMajor, majors[3]);
    }

    [Fact]
    public void LoadedLibraries_AreFfmpeg51()
    {
        FfmpegLibraries.EnsureLoaded();
        Assert.Equal(4, FfmpegLibraries.Versions.Count);
        foreach (var spec in FfmpegLibraries.Specs)
        {
            Assert.Equal(spec.SupportedMajor, (int)(FfmpegLibraries.Versions[spec.LogicalName] >> 16));
        }

        Assert.True(VideoLibraryOptions.Shared.IsFrozen);
        Assert.Throws<InvalidOperationException>(() => VideoLibraryOptions.Shared.AvFormatPath = "/tmp/x.so");
    }

    [Fact]
    public void UnsupportedMajor_IsExplained()
    {
        var spec = FfmpegLibraries.Specs.Single(s => s.LogicalName == FfmpegLibraries.AvFormat);
        var problem = FfmpegLibraries.CheckVersion(spec, (60u << 16) | (16u << 8) | 100u);
        Assert.NotNull(problem);
        Assert.Contains("60.16.100", problem, StringComparison.Ordinal);
        Assert.Contains("only major 59", problem, StringComparison.Ordinal);
        Assert.Contains("FFmpeg 5.1", problem, StringComparison.Ordinal);
        Assert.Null(FfmpegLibraries.CheckVersion(spec, (59u << 16) | (27u << 8) | 100u));
    }

    private static string Run(string file, string arguments)
    {
        var info = new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process process;
        try
        {
            process = Process.Start(info)!;
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException($"'{file}' is not installed; run eng/bootstrap.sh (gcc, pkg-config and the FFmpeg -dev packages).", ex);
        }

        using (process)
        {
            var stdout = process.StandardOutput.ReadToEnd();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            Assert.True(process.ExitCode == 0, $"{file} {arguments} failed: {stderr}");
            return stdout;
        }
    }
}
