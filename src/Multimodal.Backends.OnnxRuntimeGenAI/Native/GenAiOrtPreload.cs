// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntime.Native;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

/// <summary>Loads ONNX Runtime before GenAI, so that GenAI reuses that copy instead of looking for (or failing to find) one itself.</summary>
/// <remarks>
/// <para>
/// GenAI 0.15 does not link ONNX Runtime. At its first use it takes <c>ORT_LIB_PATH</c>, else an already loaded
/// <c>libonnxruntime.so</c> / <c>libonnxruntime.so.1</c> (matched by file name or SONAME through <c>RTLD_NOLOAD</c>),
/// else whatever those names resolve to on the search path, and it ends the process when it finds none. Loading ONNX
/// Runtime ourselves first turns "not found" into a <see cref="NativeLibraryException"/> and makes GenAI and the ONNX
/// Runtime backend share one copy, configured by <c>OnnxRuntimeLibraryOptions.Shared</c>.
/// </para>
/// <para>
/// This class is the one seam between the two packages' loaders: <see cref="s_load"/> and <see cref="Version"/> are the
/// only references to the ONNX Runtime backend's <see cref="OrtLibrary"/>. Thread-safe.
/// </para>
/// </remarks>
internal static class GenAiOrtPreload
{
    // The seam: how ONNX Runtime gets loaded (and checked) before GenAI.
    private static readonly Func<string> s_load = OrtLibrary.EnsureLoaded;

    private static readonly Lock s_lock = new();
    private static string? s_loadedFrom;

    /// <summary>Gets where ONNX Runtime was loaded from, once <see cref="EnsureLoaded"/> has succeeded.</summary>
    public static string? LoadedFrom => Volatile.Read(ref s_loadedFrom);

    /// <summary>Gets the loaded ONNX Runtime's version string (for example <c>1.30.0</c>), or <see langword="null"/> before <see cref="EnsureLoaded"/>.</summary>
    public static string? Version => LoadedFrom is null ? null : OrtLibrary.Version;

    /// <summary>Loads and checks ONNX Runtime once (a failure is not cached, so a later call tries again).</summary>
    /// <returns>Where ONNX Runtime was loaded from.</returns>
    /// <exception cref="NativeLibraryException">ONNX Runtime cannot be found, loaded or used.</exception>
    public static string EnsureLoaded()
    {
        var loaded = Volatile.Read(ref s_loadedFrom);
        if (loaded is not null)
        {
            return loaded;
        }

        lock (s_lock)
        {
            s_loadedFrom ??= s_load();
            return s_loadedFrom;
        }
    }
}
