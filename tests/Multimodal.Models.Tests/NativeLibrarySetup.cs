// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;
using Multimodal.Backends.OnnxRuntime;
using Multimodal.Backends.OnnxRuntimeGenAI;
using Multimodal.Testing;

namespace Multimodal.Models.Tests;

/// <summary>Points the ONNX Runtime packages at the libraries eng/native/fetch-onnxruntime.sh puts under .tools/native
/// (an application gets them from runtimes/&lt;rid&gt;/native instead).</summary>
internal static class NativeLibrarySetup
{
    [ModuleInitializer]
    internal static void Initialize()
    {
        var folder = RepositoryPaths.Combine(".tools", "native", "linux-x64");
        OnnxRuntimeLibraryOptions.Shared.AddSearchDirectory(folder);
        OnnxRuntimeGenAILibraryOptions.Shared.AddSearchDirectory(folder);
    }
}
