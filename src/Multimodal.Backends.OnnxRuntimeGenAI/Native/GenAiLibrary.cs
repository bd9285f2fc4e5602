// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Reflection;
using System.Runtime.InteropServices;
using Multimodal.Interop;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>Loads ONNX Runtime GenAI (after ONNX Runtime) on first use, checks it and resolves the <c>LibraryImport</c> name to it.</summary>
/// <remarks>
/// <para>
/// The header has no version function, so the version check is an export that first appeared in 0.15:
/// <c>OgaSetTelemetryEnabled</c> (0.15.0 also added <c>OgaCreateConfigFromPackageEp</c> and the
/// <c>OgaTokenizerGet{Bot,Eot,Bor,Eor}TokenId</c> functions; 0.14 has none of them). Every function this package binds
/// must be exported too. The C signatures we bind are unchanged from 0.15.0 to the 0.16 development branch
/// (2026-08-22), so newer versions are accepted.
/// </para>
/// <para>
/// Thread-safe. A successful load is cached for the life of the process and freezes
/// <see cref="OnnxRuntimeGenAILibraryOptions.Shared"/>; a failure is not cached.
/// </para>
/// </remarks>
internal static class GenAiLibrary
{
    /// <summary>The name the <c>LibraryImport</c>s use and explicit paths are keyed by.</summary>
    public const string LogicalName = "onnxruntime-genai";

    /// <summary>The oldest version this package supports, for messages.</summary>
    public const string MinimumVersion = "0.15";

    /// <summary>An export that GenAI has since 0.15.0 (and 0.14 lacks): the version check.</summary>
    public const string VersionMarkerExport = "OgaSetTelemetryEnabled";

    /// <summary>The library's names, package hint and checks.</summary>
    public static readonly NativeLibrarySpec Spec = new()
    {
        LogicalName = LogicalName,
        Description =
            $"ONNX Runtime GenAI {MinimumVersion} or newer, from the native runtime package of NuGet's Microsoft.ML.OnnxRuntimeGenAI " +
            "or the npm package com.github.asus4.onnxruntime-genai (Plugins/<platform>); ONNX Runtime is loaded before it, through OnnxRuntimeLibraryOptions.Shared",
        SoNames = ["libonnxruntime-genai.so"],
        PlainNames = ["onnxruntime-genai.dll", "libonnxruntime-genai.dylib"],
        RequiredExports =
        [
            "OgaResultGetError", "OgaDestroyResult", "OgaCreateConfig", "OgaCreateModelFromConfig", "OgaCreateGenerator",
            "OgaGenerator_SetInputs", "OgaGenerator_AppendTokens", "OgaGenerator_RewindTo", "OgaGenerator_GetLogits",
            "OgaCreateTensorFromBuffer", "OgaShutdown",
        ],
        CheckVersion = CheckVersion,
    };

    private static readonly NativeLibraryLoader s_loader = new(Spec, OnnxRuntimeGenAILibraryOptions.Shared);

    static GenAiLibrary()
    {
        NativeLibrary.SetDllImportResolver(typeof(GenAiLibrary).Assembly, Resolve);
    }

    /// <summary>Gets where GenAI was loaded from, once loaded.</summary>
    public static string? LoadedFrom => s_loader.LoadedFrom;

    /// <summary>Gets where ONNX Runtime was loaded from, once loaded.</summary>
    public static string? OrtLoadedFrom => GenAiOrtPreload.LoadedFrom;

    /// <summary>Makes sure the resolver is installed; the static constructor does the work, this call only triggers it.</summary>
    public static void RegisterResolver()
    {
    }

    /// <summary>Loads ONNX Runtime, then GenAI, and checks GenAI, so that problems surface as <see cref="NativeLibraryException"/> before any P/Invoke.</summary>
    /// <returns>The OS handle of GenAI.</returns>
    /// <exception cref="NativeLibraryException">ONNX Runtime or GenAI cannot be found or loaded, or GenAI is older than 0.15.</exception>
    public static IntPtr EnsureLoaded()
    {
        // Order matters: GenAI aborts the process at its first use if it finds no ONNX Runtime.
        GenAiOrtPreload.EnsureLoaded();
        return s_loader.GetHandle();
    }

    /// <summary>Gets the version string of the loaded ONNX Runtime (for example <c>1.30.0</c>), or <see langword="null"/> before loading.</summary>
    public static string? OrtVersion => GenAiOrtPreload.Version;

    /// <summary>Releases GenAI's global state (<c>OgaShutdown</c>); GenAI re-initializes on its next use.</summary>
    /// <remarks>
    /// Every config, model, generator and tensor must have been disposed first: GenAI documents a shutdown with live
    /// objects as undefined behaviour. Optional: GenAI also shuts down at process exit. Does nothing when GenAI was never loaded.
    /// </remarks>
    public static void Shutdown()
    {
        if (LoadedFrom is not null)
        {
            GenAiNative.Shutdown();
        }
    }

    /// <summary>The version check: GenAI 0.15 or newer.</summary>
    /// <param name="handle">The loaded candidate.</param>
    /// <returns><see langword="null"/> when supported, otherwise the reason.</returns>
    internal static string? CheckVersion(IntPtr handle) =>
        NativeLibrary.TryGetExport(handle, VersionMarkerExport, out _)
            ? null
            : $"it is older than ONNX Runtime GenAI {MinimumVersion} (it lacks {VersionMarkerExport}, which 0.15.0 added; GenAI has no version function)";

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        string.Equals(libraryName, LogicalName, StringComparison.Ordinal) ? EnsureLoaded() : IntPtr.Zero;
}
