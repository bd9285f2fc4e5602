// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Runtime.InteropServices;
using Multimodal.Interop;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>Loads ONNX Runtime on first use, checks its version and holds its <c>OrtApi</c> function table.</summary>
/// <remarks>
/// <para>
/// The only export used is <c>const OrtApiBase* OrtGetApiBase(void)</c>. <c>OrtApiBase</c> is frozen at two pointers:
/// slot 0 <c>const OrtApi* GetApi(uint32_t version)</c> and slot 1 <c>const char* GetVersionString(void)</c>. The table
/// is requested at <see cref="ApiVersion"/>, the lowest version that has every slot in <see cref="OrtApiSlots"/>.
/// </para>
/// <para>
/// The library is found by a <see cref="NativeLibraryLoader"/> over <see cref="OnnxRuntimeLibraryOptions.Shared"/>,
/// which the first successful load freezes. Loading is thread-safe, cached for the life of the process, and a failure
/// is not cached (a later call probes again).
/// </para>
/// </remarks>
internal static unsafe class OrtLibrary
{
    /// <summary>The logical library name, the key of <see cref="OnnxRuntimeLibraryOptions.OnnxRuntimePath"/>.</summary>
    public const string LogicalName = "onnxruntime";

    /// <summary>The <c>OrtApi</c> version requested: 11, the lowest that contains every slot the binding calls (CUDA_V2 options, 204–208).</summary>
    public const uint ApiVersion = 11;

    /// <summary>What the library is and where to get it, for loader messages.</summary>
    public const string Description =
        "ONNX Runtime 1.11 or newer, used to run ONNX models; take libonnxruntime from the NuGet package Microsoft.ML.OnnxRuntime " +
        "(runtimes/<rid>/native) or the npm package onnxruntime-node (bin/napi-v6/<os>/<arch>), or set OnnxRuntimeLibraryOptions.Shared.OnnxRuntimePath to its full path";

    private static readonly Lock s_lock = new();
    private static nint s_api;
    private static string? s_version;

    /// <summary>Gets the lowest supported ONNX Runtime release.</summary>
    public static Version MinimumVersion { get; } = new(1, 11);

    /// <summary>Gets how the loader finds and checks the library: SONAME <c>libonnxruntime.so.1</c>, then the plain and other-platform names; export <c>OrtGetApiBase</c>; version at least <see cref="MinimumVersion"/>.</summary>
    public static NativeLibrarySpec Spec { get; } = new()
    {
        LogicalName = LogicalName,
        Description = Description,
        SoNames = ["libonnxruntime.so.1"],
        PlainNames = ["libonnxruntime.so", "libonnxruntime.dylib", "libonnxruntime.1.dylib", "onnxruntime.dll"],
        RequiredExports = ["OrtGetApiBase"],
        CheckVersion = CheckLibrary,
    };

    /// <summary>Gets the version string of the loaded library (for example <c>1.30.0</c>), loading it first.</summary>
    /// <exception cref="NativeLibraryException">ONNX Runtime cannot be found, loaded or used.</exception>
    public static string Version
    {
        get
        {
            _ = Api;
            return Volatile.Read(ref s_version)!;
        }
    }

    /// <summary>Gets the <c>OrtApi</c> function table (version <see cref="ApiVersion"/>), loading the library first.</summary>
    /// <exception cref="NativeLibraryException">ONNX Runtime cannot be found, loaded or used.</exception>
    internal static nint* Api
    {
        get
        {
            var api = Volatile.Read(ref s_api);
            return api != 0 ? (nint*)api : Load();
        }
    }

    /// <summary>Gets the loader over <see cref="OnnxRuntimeLibraryOptions.Shared"/>.</summary>
    private static NativeLibraryLoader Loader { get; } = new(Spec, OnnxRuntimeLibraryOptions.Shared);

    /// <summary>Loads and checks ONNX Runtime, if not done yet; other native packages (ONNX Runtime GenAI) call this so that the library they look up by SONAME is already the checked one.</summary>
    /// <returns>The path (or name) the library was loaded from.</returns>
    /// <exception cref="NativeLibraryException">ONNX Runtime cannot be found, loaded or used.</exception>
    public static string EnsureLoaded()
    {
        _ = Api;
        return Loader.LoadedFrom!;
    }

    /// <summary>Checks a version string against <see cref="MinimumVersion"/>.</summary>
    /// <param name="version">What <c>GetVersionString</c> returned (for example <c>1.30.0</c> or <c>1.20.0-dev</c>).</param>
    /// <returns><see langword="null"/> when supported, otherwise the reason.</returns>
    internal static string? CheckVersionString(string? version)
    {
        var parsed = ParseVersion(version);
        if (parsed is null)
        {
            return $"its version string '{version}' cannot be parsed";
        }

        return parsed >= MinimumVersion
            ? null
            : $"it is version {version}, but ONNX Runtime {MinimumVersion.Major}.{MinimumVersion.Minor} or newer is required (C API version {ApiVersion})";
    }

    /// <summary>Parses the leading <c>major.minor[.patch]</c> of an ONNX Runtime version string.</summary>
    /// <param name="version">The version string.</param>
    /// <returns>The version, or <see langword="null"/> when it does not start with one.</returns>
    internal static Version? ParseVersion(string? version)
    {
        if (string.IsNullOrWhiteSpace(version))
        {
            return null;
        }

        var end = 0;
        while (end < version.Length && (char.IsAsciiDigit(version[end]) || version[end] == '.'))
        {
            end++;
        }

        var parts = version[..end].Split('.', StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length < 2)
        {
            return null;
        }

        var numbers = new int[Math.Min(parts.Length, 3)];
        for (var i = 0; i < numbers.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out numbers[i]))
            {
                return null;
            }
        }

        return numbers.Length == 2 ? new Version(numbers[0], numbers[1]) : new Version(numbers[0], numbers[1], numbers[2]);
    }

    private static nint* Load()
    {
        lock (s_lock)
        {
            if (s_api != 0)
            {
                return (nint*)s_api;
            }

            var apiBase = GetApiBase(Loader.GetHandle());
            var api = GetApi(apiBase, ApiVersion);
            if (api == 0)
            {
                // CheckLibrary already asked for this table, so only a library swapped under us gets here.
                throw new NativeLibraryException(
                    $"ONNX Runtime at '{Loader.LoadedFrom}' returned no C API table for version {ApiVersion}.",
                    LogicalName,
                    [Loader.LoadedFrom ?? LogicalName]);
            }

            Volatile.Write(ref s_version, GetVersionString(apiBase));
            Volatile.Write(ref s_api, api);
            return (nint*)api;
        }
    }

    // The loader's check, run on each candidate before it is accepted.
    private static string? CheckLibrary(IntPtr handle)
    {
        var apiBase = GetApiBase(handle);
        if (apiBase == 0)
        {
            return "OrtGetApiBase returned null";
        }

        var version = GetVersionString(apiBase);
        var problem = CheckVersionString(version);
        if (problem is not null)
        {
            return problem;
        }

        // A version 1.11+ library always has table 11; asking also proves the table is there before we commit.
        return GetApi(apiBase, ApiVersion) == 0 ? $"it is version {version} but has no C API table for version {ApiVersion}" : null;
    }

    // const OrtApiBase* OrtGetApiBase(void);
    private static nint GetApiBase(IntPtr library) => ((delegate* unmanaged<nint>)NativeLibrary.GetExport(library, "OrtGetApiBase"))();

    // OrtApiBase slot 0: const OrtApi* GetApi(uint32_t version);
    private static nint GetApi(nint apiBase, uint version) => ((delegate* unmanaged<uint, nint>)((nint*)apiBase)[0])(version);

    // OrtApiBase slot 1: const char* GetVersionString(void);
    private static string? GetVersionString(nint apiBase) => Marshal.PtrToStringUTF8(((delegate* unmanaged<nint>)((nint*)apiBase)[1])());
}
