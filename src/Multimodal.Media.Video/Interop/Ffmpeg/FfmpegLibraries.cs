// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Reflection;
using System.Runtime.InteropServices;

namespace Multimodal.Media.Video.Interop.Ffmpeg;

/// <summary>One FFmpeg library: its logical name, SONAME, package, supported major version and version function.</summary>
/// <param name="LogicalName">The name the <c>LibraryImport</c>s use.</param>
/// <param name="SoName">The SONAME of the supported major version (for example <c>libavformat.so.59</c>).</param>
/// <param name="PlainNames">Unversioned names probed last.</param>
/// <param name="AptPackage">The Debian/Ubuntu package that provides the SONAME.</param>
/// <param name="VersionFunction">The <c>unsigned xxx_version(void)</c> export.</param>
/// <param name="SupportedMajor">The only accepted major version.</param>
/// <param name="ExplicitPath">Reads the explicit path from the options.</param>
internal sealed record FfmpegLibrarySpec(
    string LogicalName,
    string SoName,
    string[] PlainNames,
    string AptPackage,
    string VersionFunction,
    int SupportedMajor,
    Func<VideoLibraryOptions, string?> ExplicitPath);

/// <summary>Loads FFmpeg 5.1 (libavutil, libswscale, libavcodec, libavformat) on first use, checks their major versions and resolves the <c>LibraryImport</c> names to them.</summary>
/// <remarks>Thread-safe. A successful load is cached for the life of the process and freezes <see cref="VideoLibraryOptions.Shared"/>; a failure is not cached.</remarks>
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

    /// <summary>The libraries in load order: each one's dependencies come before it, so that explicit paths win over the loader's SONAME search.</summary>
    public static readonly FfmpegLibrarySpec[] Specs =
    [
        new(AvUtil, "libavutil.so.57", ["libavutil.so", "libavutil.dylib", "avutil-57.dll"], "libavutil57", "avutil_version", 57, o => o.AvUtilPath),
        new(SwScale, "libswscale.so.6", ["libswscale.so", "libswscale.dylib", "swscale-6.dll"], "libswscale6", "swscale_version", 6, o => o.SwScalePath),
        new(AvCodec, "libavcodec.so.59", ["libavcodec.so", "libavcodec.dylib", "avcodec-59.dll"], "libavcodec59", "avcodec_version", 59, o => o.AvCodecPath),
        new(AvFormat, "libavformat.so.59", ["libavformat.so", "libavformat.dylib", "avformat-59.dll"], "libavformat59", "avformat_version", 59, o => o.AvFormatPath),
    ];

    private static readonly Lock s_lock = new();
    private static Dictionary<string, IntPtr>? s_handles;

    static FfmpegLibraries()
    {
        NativeLibrary.SetDllImportResolver(typeof(FfmpegLibraries).Assembly, Resolve);
    }

    /// <summary>Gets the files the libraries were loaded from, by logical name, once loaded.</summary>
    public static IReadOnlyDictionary<string, string> LoadedFrom { get; private set; } = new Dictionary<string, string>();

    /// <summary>Gets the packed versions (<c>major &lt;&lt; 16 | minor &lt;&lt; 8 | micro</c>) of the loaded libraries, by logical name.</summary>
    public static IReadOnlyDictionary<string, uint> Versions { get; private set; } = new Dictionary<string, uint>();

    /// <summary>Makes sure the resolver is installed; the static constructor does the work, this call only triggers it.</summary>
    public static void RegisterResolver()
    {
    }

    /// <summary>Loads and checks all four libraries (installing the resolver first), so that problems surface as <see cref="NativeLibraryException"/> before any P/Invoke.</summary>
    /// <exception cref="NativeLibraryException">A library cannot be found or loaded, or is not FFmpeg 5.1.</exception>
    public static void EnsureLoaded() => GetHandles();

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

    private static Dictionary<string, IntPtr> GetHandles()
    {
        var handles = Volatile.Read(ref s_handles);
        if (handles is not null)
        {
            return handles;
        }

        lock (s_lock)
        {
            if (s_handles is null)
            {
                var options = VideoLibraryOptions.Shared;
                var loaded = new Dictionary<string, IntPtr>();
                var from = new Dictionary<string, string>();
                var versions = new Dictionary<string, uint>();
                foreach (var spec in Specs)
                {
                    var (handle, path, version) = Load(spec, options);
                    loaded[spec.LogicalName] = handle;
                    from[spec.LogicalName] = path;
                    versions[spec.LogicalName] = version;
                }

                ApplyLogLevel(loaded[AvUtil], options.LogLevel);
                options.Freeze();
                LoadedFrom = from;
                Versions = versions;
                Volatile.Write(ref s_handles, loaded);
            }

            return s_handles;
        }
    }

    private static unsafe (IntPtr Handle, string Path, uint Version) Load(FfmpegLibrarySpec spec, VideoLibraryOptions options)
    {
        var tried = new List<string>();
        var failures = new List<string>();
        foreach (var candidate in Candidates(spec, options))
        {
            tried.Add(candidate);
            IntPtr handle;
            try
            {
                // Straight to the system loader, never the assembly-aware overload, which would re-enter Resolve.
                if (!NativeLibrary.TryLoad(candidate, out handle))
                {
                    continue;
                }
            }
            catch (BadImageFormatException ex)
            {
                failures.Add($"{candidate}: {ex.Message}");
                continue;
            }

            string? problem;
            uint version = 0;
            if (!NativeLibrary.TryGetExport(handle, spec.VersionFunction, out var export))
            {
                problem = $"it does not export {spec.VersionFunction}";
            }
            else
            {
                // unsigned xxx_version(void); called through the export so that the check runs before the resolver hands the handle out.
                version = ((delegate* unmanaged<uint>)export)();
                problem = CheckVersion(spec, version);
            }

            if (problem is null)
            {
                return (handle, candidate, version);
            }

            NativeLibrary.Free(handle);
            throw new NativeLibraryException(
                $"The FFmpeg library '{spec.LogicalName}' was found at '{candidate}' but cannot be used: {problem}. " +
                $"Install {SupportedDescription} (Debian 12/Ubuntu: apt-get install {spec.AptPackage}) or point VideoLibraryOptions.Shared at it.",
                spec.LogicalName,
                tried);
        }

        var detail = failures.Count == 0 ? string.Empty : " Load errors: " + string.Join("; ", failures) + ".";
        throw new NativeLibraryException(
            $"The FFmpeg library '{spec.LogicalName}' ({spec.SoName}) could not be loaded. Tried: {string.Join(", ", tried)}.{detail} " +
            $"Install {SupportedDescription} (Debian 12/Ubuntu: apt-get install libavformat59 libavcodec59 libswscale6 libavutil57) " +
            "or set its path on VideoLibraryOptions.Shared before the first video is opened.",
            spec.LogicalName,
            tried);
    }

    private static IEnumerable<string> Candidates(FfmpegLibrarySpec spec, VideoLibraryOptions options)
    {
        var explicitPath = spec.ExplicitPath(options);
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            yield return explicitPath;
        }

        foreach (var directory in options.SearchDirectories)
        {
            yield return Path.Combine(directory, spec.SoName);
        }

        yield return spec.SoName;
        foreach (var name in spec.PlainNames)
        {
            yield return name;
        }
    }

    private static unsafe void ApplyLogLevel(IntPtr avUtil, FfmpegLogLevel level)
    {
        // void av_log_set_level(int level); process-wide, set once at load.
        var setLevel = (delegate* unmanaged<int, void>)NativeLibrary.GetExport(avUtil, "av_log_set_level");
        setLevel((int)level);
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) => libraryName switch
    {
        AvUtil or SwScale or AvCodec or AvFormat => GetHandles()[libraryName],
        _ => IntPtr.Zero,
    };
}
