// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Reflection;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;
using Multimodal.Interop;
using Multimodal.Testing;

namespace Multimodal.Backends.OnnxRuntimeGenAI.Native;

[Collection(GenAiCollection.Name)]
public sealed class GenAiLibraryTests
{
    public GenAiLibraryTests() => GenAiTestEnvironment.EnsureConfigured();

    [Fact]
    public void Load_LoadsOnnxRuntimeFirst_ThenGenAI_AndReportsVersionAndModelType()
    {
        // Act
        using var model = GenAiTestEnvironment.OpenModel();

        // Assert: both from the configured folder, ONNX Runtime 1.x, a 0.15+ GenAI, and the config's model type.
        Assert.NotNull(GenAiLibrary.OrtLoadedFrom);
        Assert.NotNull(GenAiLibrary.LoadedFrom);
        Assert.StartsWith(GenAiTestEnvironment.NativeDirectory, GenAiLibrary.OrtLoadedFrom, StringComparison.Ordinal);
        Assert.Equal(Path.Combine(GenAiTestEnvironment.NativeDirectory, "libonnxruntime-genai.so"), GenAiLibrary.LoadedFrom);
        Assert.Matches(@"^1\.\d+\.\d+", GenAiLibrary.OrtVersion);
        Assert.True(NativeLibrary.TryGetExport(GenAiLibrary.EnsureLoaded(), GenAiLibrary.VersionMarkerExport, out _));
        Assert.Equal("gemma3", model.Type);
        Assert.Equal(GenAiTestEnvironment.ModelDirectory, model.Directory);
        Assert.True(OnnxRuntimeGenAILibraryOptions.Shared.IsFrozen);
    }

    [Fact]
    public void Load_GenAIReusesTheOnnxRuntimeWeLoaded_OneCopyIsMapped()
    {
        // Arrange: running a prompt makes GenAI resolve its ONNX Runtime.
        using var model = GenAiTestEnvironment.OpenModel();
        using var generator = GenAiTestEnvironment.CreateGenerator(model);
        generator.AppendTokens([1, 2, 3]);

        // Act
        var ortFiles = File.ReadAllLines("/proc/self/maps")
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(parts => parts.Length >= 6)
            .Select(parts => parts[5])
            .Where(path => Regex.IsMatch(Path.GetFileName(path), @"^libonnxruntime\.so(\.\d+)*$"))
            .Distinct(StringComparer.Ordinal)
            .ToArray();

        // Assert
        var mapped = Assert.Single(ortFiles);
        Assert.Equal(Path.GetFileName(GenAiLibrary.OrtLoadedFrom), Path.GetFileName(mapped));
    }

    [Fact]
    public void EveryBoundFunction_IsExportedByTheLibrary_AndDeclaredInTheHeader()
    {
        // Arrange
        var handle = GenAiLibrary.EnsureLoaded();
        var header = File.ReadAllText(RepositoryPaths.Combine(".tools", "native", "include", "ort_genai_c.h"));
        var entryPoints = BoundEntryPoints();

        // Act
        var missing = entryPoints.Where(e => !NativeLibrary.TryGetExport(handle, e, out _)).ToArray();
        var undeclared = entryPoints.Where(e => !Regex.IsMatch(header, $@"OGA_API_CALL\s+{Regex.Escape(e)}\s*\(")).ToArray();

        // Assert
        Assert.True(entryPoints.Length >= 40, $"only {entryPoints.Length} imports found");
        Assert.Empty(missing);
        Assert.Empty(undeclared);
        Assert.All(GenAiLibrary.Spec.RequiredExports, e => Assert.Contains(e, entryPoints));
    }

    [Fact]
    public void EveryBoolInTheBindings_IsMarshalledAsOneByte()
    {
        // Arrange: C's bool is one byte; the default Win32 BOOL marshalling would read four.
        var methods = typeof(GenAiNative).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Where(m => m.GetCustomAttribute<LibraryImportAttribute>() is not null)
            .ToArray();

        // Act
        var unmarked = methods
            .SelectMany(m => m.GetParameters().Append(m.ReturnParameter).Select(p => (Method: m, Parameter: p)))
            .Where(x => x.Parameter.ParameterType == typeof(bool))
            .Where(x => x.Parameter.GetCustomAttribute<MarshalAsAttribute>()?.Value != UnmanagedType.U1)
            .Select(x => $"{x.Method.Name}({x.Parameter.Name ?? "return"})")
            .ToArray();

        // Assert
        Assert.Contains(methods, m => m.ReturnType == typeof(bool));
        Assert.Empty(unmarked);
    }

    [Fact]
    public void VersionCheck_RejectsALibraryWithoutThe015Marker()
    {
        // Arrange: ONNX Runtime itself has no Oga exports, like a GenAI older than 0.15 lacks the marker.
        var ort = NativeLibrary.Load(GenAiLibrary.OrtLoadedFrom ?? throw new InvalidOperationException("load first"));
        try
        {
            // Act
            var problem = GenAiLibrary.CheckVersion(ort);

            // Assert
            Assert.NotNull(problem);
            Assert.Contains("0.15", problem, StringComparison.Ordinal);
            Assert.Null(GenAiLibrary.CheckVersion(GenAiLibrary.EnsureLoaded()));
        }
        finally
        {
            NativeLibrary.Free(ort);
        }
    }

    [Fact]
    public void Spec_NamesTheLibraryOnEveryPlatform_AndWhereToGetIt()
    {
        Assert.Equal("onnxruntime-genai", GenAiLibrary.Spec.LogicalName);
        Assert.Contains("libonnxruntime-genai.so", GenAiLibrary.Spec.SoNames);
        Assert.Contains("onnxruntime-genai.dll", GenAiLibrary.Spec.PlainNames);
        Assert.Contains("libonnxruntime-genai.dylib", GenAiLibrary.Spec.PlainNames);
        Assert.Contains("Microsoft.ML.OnnxRuntimeGenAI", GenAiLibrary.Spec.Description, StringComparison.Ordinal);
        Assert.Contains("com.github.asus4.onnxruntime-genai", GenAiLibrary.Spec.Description, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingLibrary_ThrowsNativeLibraryException_SayingWhereToGetItAndHowToPointAtIt()
    {
        // Arrange: the real spec with a file name that exists nowhere, over fresh (unfrozen) options.
        var spec = GenAiLibrary.Spec with { SoNames = ["libonnxruntime-genai-missing.so"], PlainNames = [] };
        var options = new OnnxRuntimeGenAILibraryOptions().AddSearchDirectory(GenAiTestEnvironment.NativeDirectory);
        var loader = new NativeLibraryLoader(spec, options);

        // Act
        var ex = Assert.Throws<NativeLibraryException>(() => loader.GetHandle());

        // Assert
        Assert.Equal("onnxruntime-genai", ex.LibraryName);
        Assert.Contains(Path.Combine(GenAiTestEnvironment.NativeDirectory, "libonnxruntime-genai-missing.so"), ex.PathsTried);
        Assert.Contains("Microsoft.ML.OnnxRuntimeGenAI", ex.Message, StringComparison.Ordinal);
        Assert.Contains("com.github.asus4.onnxruntime-genai", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OnnxRuntimeGenAILibraryOptions.Shared", ex.Message, StringComparison.Ordinal);
        Assert.False(options.IsFrozen);
    }

    [Fact]
    public void Options_AreFrozenOnceLoaded()
    {
        // Arrange
        GenAiLibrary.EnsureLoaded();

        // Act + Assert
        var ex = Assert.Throws<InvalidOperationException>(() => OnnxRuntimeGenAILibraryOptions.Shared.GenAIPath = "/elsewhere/libonnxruntime-genai.so");
        Assert.Contains("OnnxRuntimeGenAILibraryOptions.Shared", ex.Message, StringComparison.Ordinal);
    }

    private static string[] BoundEntryPoints() =>
        [.. typeof(GenAiNative).GetMethods(BindingFlags.Public | BindingFlags.Static)
            .Select(m => m.GetCustomAttribute<LibraryImportAttribute>()?.EntryPoint)
            .OfType<string>()
            .Distinct(StringComparer.Ordinal)];
}
