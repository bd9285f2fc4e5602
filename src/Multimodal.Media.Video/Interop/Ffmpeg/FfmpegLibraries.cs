// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;
using Multimodal.Interop;

namespace Multimodal.Media.Video.Interop.Ffmpeg;

/// <summary>One FFmpeg library: its logical name, SONAME, supported major version and version function.</summary>
/// <param name="LogicalName">The name the <c>LibraryImport</c>s use.</param>
/// <param name="SoName">The SONAME of the supported major version (for example <c>libavformat.so.59</c>).</param>
/// <param name="PlainNames">Unversioned names probed last.</param>
/// <param name="VersionFunction">The <c>unsigned xxx_version(void)</c> export.</param>
/// <param name="SupportedMajor">The only accepted major version.</param>
internal sealed record FfmpegLibrarySpec(string LogicalName, string SoName, string[] PlainNames, string VersionFunction, int SupportedMajor)
{
    /// <summary>Describes the library for a <see cref="NativeLibraryLoader"/>, which then checks the version function and the major version.</summary>
    /// <returns>The loader's spec.</returns>
    public NativeLibrarySpec ToNativeSpec() => new()
    {
        LogicalName = LogicalName,
        Description = $"{SoName} from {FfmpegLibraries.SupportedDescription}",
        SoNames = [SoName],
        PlainNames = PlainNames,
        AptPackage = FfmpegLibraries.AptPackages,
        RequiredExports = [VersionFunction],
        CheckVersion = handle => FfmpegLibraries.CheckVersion(this, FfmpegLibraries.ReadVersion(handle, VersionFunction)),
    };
}

/// <summary>Loads FFmpeg 5.1 (libavutil, libswscale, libavcodec, libavformat) on first use, checks their major versions and resolves the <c>LibraryImport</c> names to them.</summary>
/// <remarks>
/// Thread-safe. Each library is loaded after the ones before it in <see cref="Specs"/>, together with them (all or none),
/// so that explicit paths win over the system loader's SONAME search. A successful load is cached for the life of the
/// process and freezes <see cref="VideoLibraryOptions.Shared"/>; a failure is not cached.
/// </remarks>
internal static class FfmpegLibraries
{
    /// <summary>The logical name of libavutil.</summary>
    public const string AvUtil = "avutil";

    /// <summary>The logical name of libswscale.</summary>
    public const string SwScale = "swscale";

    /// <summary>The logical name of libavcodec.</summary>
    public const string AvCodec = "avcodec";

    /// <summary>The logical name of libavformat.</summary>
    public const string AvFormat = "avformat";

    /// <summary>What this build supports, for messages.</summary>
    public const string SupportedDescription = "FFmpeg 5.1 (libavformat 59, libavcodec 59, libavutil 57, libswscale 6)";

    /// <summary>The Debian 12/Ubuntu packages that provide FFmpeg 5.1's four libraries.</summary>
    public const string AptPackages = "libavformat59 libavcodec59 libswscale6 libavutil57";

    /// <summary>The libraries in load order: each one's dependencies come before it.</summary>
    public static readonly FfmpegLibrarySpec[] Specs =
    [
        new(AvUtil, "libavutil.so.57", ["libavutil.so", "libavutil.dylib", "avutil-57.dll"], "avutil_version", 57),
        new(SwScale, "libswscale.so.6", ["libswscale.so", "libswscale.dylib", "swscale-6.dll"], "swscale_version", 6),
        new(AvCodec, "libavcodec.so.59", ["libavcodec.so", "libavcodec.dylib", "avcodec-59.dll"], "avcodec_version", 59),
        new(AvFormat, "libavformat.so.59", ["libavformat.so", "libavformat.dylib", "avformat-59.dll"], "avformat_version", 59),
    ];

    /// <summary>The loaders, parallel to <see cref="Specs"/>; each depends on all the ones before it.</summary>
    private static readonly NativeLibraryLoader[] s_loaders = CreateLoaders();

    private static readonly Lock s_lock = new();
    private static bool s_logLevelApplied;

    static FfmpegLibraries()
    {
        NativeLibraryLoader.SetDllImportResolver(typeof(FfmpegLibraries).Assembly, s_loaders);
    }

    /// <summary>Gets the packed versions (<c>major &lt;&lt; 16 | minor &lt;&lt; 8 | micro</c>) of the loaded libraries, by logical name.</summary>
    public static IReadOnlyDictionary<string, uint> Versions =>
        Enumerable.Range(0, Specs.Length)
            .Where(i => s_loaders[i].LoadedFrom is not null)
            .ToDictionary(i => Specs[i].LogicalName, i => ReadVersion(s_loaders[i].GetHandle(), Specs[i].VersionFunction));

    /// <summary>Makes sure the resolver is installed; the static constructor does the work, this call only triggers it.</summary>
    public static void RegisterResolver()
    {
    }

    /// <summary>Loads and checks all four libraries (installing the resolver first), so that problems surface as <see cref="NativeLibraryException"/> before any P/Invoke, and applies <see cref="VideoLibraryOptions.LogLevel"/>.</summary>
    /// <exception cref="NativeLibraryException">A library cannot be found or loaded, or is not FFmpeg 5.1.</exception>
    public static void EnsureLoaded()
    {
        var avUtil = s_loaders[0].GetHandle();
        s_loaders[^1].GetHandle();
        if (Volatile.Read(ref s_logLevelApplied))
        {
            return;
        }

        lock (s_lock)
        {
            if (!s_logLevelApplied)
            {
                ApplyLogLevel(avUtil, VideoLibraryOptions.Shared.LogLevel);
                Volatile.Write(ref s_logLevelApplied, true);
            }
        }
    }

    /// <summary>Formats a packed FFmpeg version as text.</summary>
    /// <param name="version">The value of <c>xxx_version()</c>.</param>
    /// <returns>For example <c>59.27.100</c>.</returns>
    public static string FormatVersion(uint version) => $"{version >> 16}.{(version >> 8) & 0xFF}.{version & 0xFF}";

    /// <summary>Checks a library's packed version against the supported major.</summary>
    /// <param name="spec">The library.</param>
    /// <param name="version">Its <c>xxx_version()</c>.</param>
    /// <returns><see langword="null"/> when supported, otherwise the reason.</returns>
    public static string? CheckVersion(FfmpegLibrarySpec spec, uint version) =>
        (int)(version >> 16) == spec.SupportedMajor
            ? null
            : $"it is version {FormatVersion(version)} (major {version >> 16}), but only major {spec.SupportedMajor} is supported: this package reads FFmpeg struct fields whose layout is specific to {SupportedDescription}";

    /// <summary>Calls a library's <c>unsigned xxx_version(void)</c> export.</summary>
    /// <param name="handle">The loaded library.</param>
    /// <param name="versionFunction">The export's name.</param>
    /// <returns>The packed version.</returns>
    public static unsafe uint ReadVersion(IntPtr handle, string versionFunction) =>
        ((delegate* unmanaged<uint>)NativeLibrary.GetExport(handle, versionFunction))();

    private static NativeLibraryLoader[] CreateLoaders()
    {
        var loaders = new NativeLibraryLoader[Specs.Length];
        for (var i = 0; i < Specs.Length; i++)
        {
            loaders[i] = new NativeLibraryLoader(Specs[i].ToNativeSpec(), VideoLibraryOptions.Shared, loaders[..i]);
        }

        return loaders;
    }

    private static unsafe void ApplyLogLevel(IntPtr avUtil, FfmpegLogLevel level)
    {
        // void av_log_set_level(int level); process-wide, set once at load.
        var setLevel = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(avUtil, "av_log_set_level");
        setLevel((int)level);
    }
}
