// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Reflection;
using System.Runtime.InteropServices;

namespace Multimodal.Media.Images.Interop;

/// <summary>What is needed to find, check and explain one native library.</summary>
/// <param name="LogicalName">The name the <c>LibraryImport</c>s use (for example <c>turbojpeg</c>).</param>
/// <param name="Description">What the library is and what it is for, for error messages.</param>
/// <param name="SoNames">File names handed to the system loader, most specific first (for example <c>libturbojpeg.so.0</c>).</param>
/// <param name="PlainNames">Unversioned file names probed last (for example <c>libturbojpeg.so</c>, <c>turbojpeg.dll</c>).</param>
/// <param name="AptPackage">The Debian/Ubuntu package that provides the library.</param>
/// <param name="RequiredExports">Symbols that must all be present.</param>
/// <param name="ExplicitPath">Reads the explicit path for this library from the options.</param>
/// <param name="CheckVersion">Given the loaded library, returns <see langword="null"/> when its version is supported, otherwise the reason.</param>
internal sealed record NativeCodecLibrarySpec(
    string LogicalName,
    string Description,
    string[] SoNames,
    string[] PlainNames,
    string AptPackage,
    string[] RequiredExports,
    Func<ImageCodecLibraryOptions, string?> ExplicitPath,
    Func<IntPtr, string?>? CheckVersion);

/// <summary>Loads one native library on first use, following <see cref="ImageCodecLibraryOptions"/>, and checks it.</summary>
/// <remarks>Thread-safe. A successful load is cached for the life of the process (native libraries are never unloaded) and freezes the options; a failure is not cached, so a later call probes again.</remarks>
internal sealed class NativeCodecLibrary
{
    private readonly NativeCodecLibrarySpec _spec;
    private readonly ImageCodecLibraryOptions _options;
    private readonly Lock _lock = new();
    private IntPtr _handle;

    /// <summary>Initializes a loader for one library.</summary>
    /// <param name="spec">The library's names, package and checks.</param>
    /// <param name="options">Where to look first.</param>
    public NativeCodecLibrary(NativeCodecLibrarySpec spec, ImageCodecLibraryOptions options)
    {
        _spec = spec;
        _options = options;
    }

    /// <summary>Gets the logical library name.</summary>
    public string LogicalName => _spec.LogicalName;

    /// <summary>Gets the file the library was loaded from, once loaded.</summary>
    public string? LoadedFrom { get; private set; }

    /// <summary>Returns the library's handle, loading and checking it on the first call.</summary>
    /// <returns>The OS handle of the loaded library.</returns>
    /// <exception cref="NativeLibraryException">The library cannot be found or loaded, lacks a required function, or is too old.</exception>
    public IntPtr GetHandle()
    {
        var handle = Volatile.Read(ref _handle);
        if (handle != IntPtr.Zero)
        {
            return handle;
        }

        lock (_lock)
        {
            if (_handle == IntPtr.Zero)
            {
                var loaded = Load();
                _options.Freeze();
                Volatile.Write(ref _handle, loaded);
            }

            return _handle;
        }
    }

    private IntPtr Load()
    {
        var tried = new List<string>();
        var failures = new List<string>();
        foreach (var candidate in Candidates())
        {
            tried.Add(candidate);
            IntPtr handle;
            try
            {
                // Every candidate goes to the system loader as it is (dlopen/LoadLibrary), never through the
                // assembly-aware overload, which could re-enter this assembly's DllImport resolver.
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

            var problem = Check(handle);
            if (problem is null)
            {
                LoadedFrom = candidate;
                return handle;
            }

            NativeLibrary.Free(handle);
            throw new NativeLibraryException(
                $"The native library '{_spec.LogicalName}' ({_spec.Description}) was found at '{candidate}' but cannot be used: {problem}. " +
                $"Install a supported version (Debian/Ubuntu: apt-get install {_spec.AptPackage}) or point ImageCodecLibraryOptions.Shared at one.",
                _spec.LogicalName,
                tried);
        }

        var detail = failures.Count == 0 ? string.Empty : " Load errors: " + string.Join("; ", failures) + ".";
        throw new NativeLibraryException(
            $"The native library '{_spec.LogicalName}' ({_spec.Description}) could not be loaded. Tried: {string.Join(", ", tried)}.{detail} " +
            $"Install it (Debian/Ubuntu: apt-get install {_spec.AptPackage}) or set its path on ImageCodecLibraryOptions.Shared before the first decode.",
            _spec.LogicalName,
            tried);
    }

    private IEnumerable<string> Candidates()
    {
        var explicitPath = _spec.ExplicitPath(_options);
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            yield return explicitPath;
        }

        foreach (var directory in _options.SearchDirectories)
        {
            foreach (var soName in _spec.SoNames)
            {
                yield return Path.Combine(directory, soName);
            }
        }

        foreach (var name in _spec.SoNames.Concat(_spec.PlainNames))
        {
            yield return name;
        }
    }

    private string? Check(IntPtr handle)
    {
        var missing = _spec.RequiredExports.Where(e => !NativeLibrary.TryGetExport(handle, e, out _)).ToArray();
        if (missing.Length > 0)
        {
            return $"it does not export {string.Join(", ", missing)}";
        }

        return _spec.CheckVersion?.Invoke(handle);
    }
}

/// <summary>The native libraries this assembly uses, and the <c>DllImport</c> resolver that maps their logical names to the loaded files.</summary>
internal static class NativeLibraries
{
    /// <summary>The logical name of libjpeg-turbo's TurboJPEG library in <c>LibraryImport</c>s.</summary>
    public const string TurboJpegName = "turbojpeg";

    /// <summary>The logical name of libwebp in <c>LibraryImport</c>s.</summary>
    public const string WebPName = "webp";

    /// <summary>The oldest supported libwebp decoder version (1.0.0), as <c>WebPGetDecoderVersion</c> encodes it.</summary>
    public const int MinimumWebPVersion = 0x010000;

    /// <summary>The TurboJPEG functions the decoder calls; <c>tjGetErrorStr2</c>/<c>tjGetErrorCode</c> need TurboJPEG 2.0 or newer.</summary>
    public static readonly string[] TurboJpegExports = ["tjInitDecompress", "tjDecompressHeader3", "tjDecompress2", "tjGetErrorStr2", "tjGetErrorCode", "tjDestroy"];

    /// <summary>The libwebp functions the decoder calls.</summary>
    public static readonly string[] WebPExports = ["WebPGetDecoderVersion", "WebPGetInfo", "WebPGetFeaturesInternal", "WebPDecodeRGBInto", "WebPDecodeRGBAInto"];

    /// <summary>Describes libturbojpeg: SONAME libturbojpeg.so.0 from the Debian package libturbojpeg0.</summary>
    public static readonly NativeCodecLibrarySpec TurboJpegSpec = new(
        TurboJpegName,
        "libjpeg-turbo's TurboJPEG API, used to decode JPEG images",
        ["libturbojpeg.so.0"],
        ["libturbojpeg.so", "libturbojpeg.dylib", "turbojpeg.dll"],
        "libturbojpeg0",
        TurboJpegExports,
        o => o.TurboJpegPath,
        null);

    /// <summary>Describes libwebp: SONAME libwebp.so.7 from the Debian package libwebp7, version 1.0 or newer.</summary>
    public static readonly NativeCodecLibrarySpec WebPSpec = new(
        WebPName,
        "libwebp, used to decode WebP images",
        ["libwebp.so.7"],
        ["libwebp.so", "libwebp.dylib", "libwebp.dll"],
        "libwebp7",
        WebPExports,
        o => o.WebPPath,
        CheckWebPVersion);

    static NativeLibraries()
    {
        NativeLibrary.SetDllImportResolver(typeof(NativeLibraries).Assembly, Resolve);
    }

    /// <summary>Gets the loader for TurboJPEG.</summary>
    public static NativeCodecLibrary TurboJpeg { get; } = new(TurboJpegSpec, ImageCodecLibraryOptions.Shared);

    /// <summary>Gets the loader for libwebp.</summary>
    public static NativeCodecLibrary WebP { get; } = new(WebPSpec, ImageCodecLibraryOptions.Shared);

    /// <summary>Makes sure the resolver is installed; the static constructor does the work, this call only triggers it.</summary>
    public static void RegisterResolver()
    {
    }

    /// <summary>Loads TurboJPEG (installing the resolver first) so that a missing library surfaces as <see cref="NativeLibraryException"/> before any P/Invoke.</summary>
    /// <exception cref="NativeLibraryException">The library cannot be loaded or is unsupported.</exception>
    public static void EnsureTurboJpeg() => TurboJpeg.GetHandle();

    /// <summary>Loads libwebp and checks its version before any P/Invoke.</summary>
    /// <exception cref="NativeLibraryException">The library cannot be loaded or is unsupported.</exception>
    public static void EnsureWebP() => WebP.GetHandle();

    /// <summary>Formats a libwebp version number (0xMMmmpp) as text.</summary>
    /// <param name="version">The encoded version.</param>
    /// <returns>For example <c>1.2.4</c>.</returns>
    public static string FormatWebPVersion(int version) => $"{(version >> 16) & 0xFF}.{(version >> 8) & 0xFF}.{version & 0xFF}";

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) => libraryName switch
    {
        TurboJpegName => TurboJpeg.GetHandle(),
        WebPName => WebP.GetHandle(),
        _ => IntPtr.Zero,
    };

    private static unsafe string? CheckWebPVersion(IntPtr handle)
    {
        // int WebPGetDecoderVersion(void); called through the export so the check runs before the resolver hands out the handle.
        var getVersion = (delegate* unmanaged<int>)NativeLibrary.GetExport(handle, "WebPGetDecoderVersion");
        var version = getVersion();
        return version >= MinimumWebPVersion
            ? null
            : $"its decoder version is {FormatWebPVersion(version)}, older than the required {FormatWebPVersion(MinimumWebPVersion)}";
    }
}
