// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntimeGenAI.Native;
using Multimodal.Interop;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>Where the ONNX Runtime GenAI native library (<c>libonnxruntime-genai.so</c>, <c>onnxruntime-genai.dll</c>, <c>libonnxruntime-genai.dylib</c>) is loaded from.</summary>
/// <remarks>
/// <para>
/// The library is probed in this order: <see cref="GenAIPath"/>; its file names in each
/// <see cref="NativeLibraryOptions.SearchDirectories"/> entry and in the application's own folders
/// (<c>runtimes/&lt;rid&gt;/native</c>, then the base directory); then the system loader's search path. Version 0.15 or
/// newer is required. NuGet's <c>Microsoft.ML.OnnxRuntimeGenAI</c> package (its native runtime package) and the npm
/// package <c>com.github.asus4.onnxruntime-genai</c> (<c>Plugins/Linux/x64</c>) both carry the library.
/// </para>
/// <para>
/// GenAI does not link ONNX Runtime: on first use it reuses an ONNX Runtime that is already loaded in the process, or
/// loads one itself, and it ends the process if it finds none. This package therefore loads ONNX Runtime first, through
/// the ONNX Runtime backend and its <c>OnnxRuntimeLibraryOptions.Shared</c> (configure that too, for example with the
/// same folder), and only then GenAI, so that both use one checked ONNX Runtime.
/// </para>
/// <para>
/// Configure <see cref="Shared"/> before the first GenAI model is loaded: the instance is frozen once the library has
/// loaded, and later changes throw <see cref="InvalidOperationException"/>. The members are thread-safe.
/// </para>
/// <code>
/// OnnxRuntimeGenAILibraryOptions.Shared.AddSearchDirectory("/opt/onnxruntime-genai/lib");
/// </code>
/// </remarks>
public sealed class OnnxRuntimeGenAILibraryOptions : NativeLibraryOptions
{
    /// <summary>Initializes a new instance with no explicit path and no search directories.</summary>
    public OnnxRuntimeGenAILibraryOptions()
        : base("OnnxRuntimeGenAILibraryOptions.Shared", "the first GenAI model is loaded")
    {
    }

    /// <summary>Gets the options this assembly loads ONNX Runtime GenAI with.</summary>
    public static OnnxRuntimeGenAILibraryOptions Shared { get; } = new();

    /// <summary>Gets or sets the full path of the GenAI library, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the library has already loaded.</exception>
    public string? GenAIPath { get => GetLibraryPath(GenAiLibrary.LogicalName); set => SetLibraryPath(GenAiLibrary.LogicalName, value); }

    /// <summary>Adds a folder to <see cref="NativeLibraryOptions.SearchDirectories"/>.</summary>
    /// <param name="directory">A folder that holds the GenAI library.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public OnnxRuntimeGenAILibraryOptions AddSearchDirectory(string directory)
    {
        AddSearchDirectoryCore(directory);
        return this;
    }
}
