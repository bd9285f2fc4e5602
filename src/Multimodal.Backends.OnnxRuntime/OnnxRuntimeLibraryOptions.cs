// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntime.Native;
using Multimodal.Interop;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>Where the ONNX Runtime native library (<c>libonnxruntime.so.1</c>, <c>onnxruntime.dll</c>, <c>libonnxruntime.dylib</c>) is loaded from.</summary>
/// <remarks>
/// <para>
/// The library is probed in this order: <see cref="OnnxRuntimePath"/>; its file names in each
/// <see cref="NativeLibraryOptions.SearchDirectories"/> entry and in the application's own folders
/// (<c>runtimes/&lt;rid&gt;/native</c>, where the NuGet package <c>Microsoft.ML.OnnxRuntime</c> puts it, then the base
/// directory); then <c>libonnxruntime.so.1</c> and the other names through the system loader. The first library found
/// must export <c>OrtGetApiBase</c> and be ONNX Runtime 1.11 or newer. The npm package <c>onnxruntime-node</c> also
/// carries the library (<c>bin/napi-v6/&lt;os&gt;/&lt;arch&gt;/</c>).
/// </para>
/// <para>
/// Configure <see cref="Shared"/> before the first ONNX Runtime session is created: the instance is frozen once the
/// library has loaded (it cannot be unloaded), and later changes throw <see cref="InvalidOperationException"/>. The
/// members are thread-safe.
/// </para>
/// <code>
/// OnnxRuntimeLibraryOptions.Shared.OnnxRuntimePath = "/opt/onnxruntime-1.30.0/lib/libonnxruntime.so.1";
/// </code>
/// </remarks>
public sealed class OnnxRuntimeLibraryOptions : NativeLibraryOptions
{
    /// <summary>Initializes a new instance with no explicit path and no search directories.</summary>
    public OnnxRuntimeLibraryOptions()
        : base("OnnxRuntimeLibraryOptions.Shared", "the first ONNX Runtime session is created")
    {
    }

    /// <summary>Gets the options this assembly loads ONNX Runtime with.</summary>
    public static OnnxRuntimeLibraryOptions Shared { get; } = new();

    /// <summary>Gets or sets the full path of the ONNX Runtime library, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the library has already loaded.</exception>
    public string? OnnxRuntimePath { get => GetLibraryPath(OrtLibrary.LogicalName); set => SetLibraryPath(OrtLibrary.LogicalName, value); }

    /// <summary>Adds a folder to <see cref="NativeLibraryOptions.SearchDirectories"/>.</summary>
    /// <param name="directory">A folder that holds the ONNX Runtime library.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public OnnxRuntimeLibraryOptions AddSearchDirectory(string directory)
    {
        AddSearchDirectoryCore(directory);
        return this;
    }
}
