// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;
using Multimodal.Interop;

namespace Multimodal.Backends.OnnxRuntime.Native;

public sealed class OrtLibraryTests
{
    public OrtLibraryTests() => OrtTestEnvironment.EnsureConfigured();

    [Fact]
    public void TheLibraryLoads_FromTheToolsFolder_AndIsVersion1_30()
    {
        // Act
        var path = OrtLibrary.EnsureLoaded();

        // Assert
        Assert.Equal(Path.Combine(OrtTestEnvironment.NativeDirectory, "libonnxruntime.so.1"), path);
        Assert.Equal("1.30.0", OrtLibrary.Version);
        Assert.True(OrtLibrary.ParseVersion(OrtLibrary.Version) >= OrtLibrary.MinimumVersion);
        Assert.Equal(new Version(1, 11), OrtLibrary.MinimumVersion);
        Assert.True(OnnxRuntimeLibraryOptions.Shared.IsFrozen);
        Assert.Throws<InvalidOperationException>(() => OnnxRuntimeLibraryOptions.Shared.OnnxRuntimePath = "/elsewhere/libonnxruntime.so.1");
    }

    [Theory]
    [InlineData("1.11.0", null)]
    [InlineData("1.30.0", null)]
    [InlineData("1.20.0-dev", null)]
    [InlineData("2.0", null)]
    [InlineData("1.10.1", "1.11 or newer")]
    [InlineData("0.5.0", "1.11 or newer")]
    [InlineData("", "cannot be parsed")]
    [InlineData("banana", "cannot be parsed")]
    public void TheVersionCheck_AcceptsOnly1_11AndNewer(string version, string? problem)
    {
        var result = OrtLibrary.CheckVersionString(version);

        if (problem is null)
        {
            Assert.Null(result);
        }
        else
        {
            Assert.NotNull(result);
            Assert.Contains(problem, result, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TheSpec_NamesEveryPlatformsLibrary_AndTheEntryPoint()
    {
        var spec = OrtLibrary.Spec;

        Assert.Equal("onnxruntime", spec.LogicalName);
        Assert.Equal(["libonnxruntime.so.1"], spec.SoNames);
        Assert.Contains("libonnxruntime.so", spec.PlainNames);
        Assert.Contains("onnxruntime.dll", spec.PlainNames);
        Assert.Contains("libonnxruntime.dylib", spec.PlainNames);
        Assert.Equal(["OrtGetApiBase"], spec.RequiredExports);
        var handle = NativeLibrary.Load(Path.Combine(OrtTestEnvironment.NativeDirectory, "libonnxruntime.so.1"));
        try
        {
            Assert.Null(spec.CheckVersion!(handle));
        }
        finally
        {
            NativeLibrary.Free(handle);
        }
    }

    [Fact]
    public void AMissingLibrary_IsANativeLibraryException_ListingThePath_AndHowToGetIt()
    {
        // Arrange: a fresh options instance and loader (the shared ones are frozen once the library has loaded). The
        // process has already loaded libonnxruntime.so.1, which the system loader would find again by SONAME, so the
        // names are swapped for ones that do not exist.
        var options = new OnnxRuntimeLibraryOptions { OnnxRuntimePath = "/nonexistent/onnxruntime/libonnxruntime.so.1" }.AddSearchDirectory("/also/missing");
        var spec = OrtLibrary.Spec with { SoNames = ["libonnxruntime-does-not-exist.so.1"], PlainNames = [] };
        var loader = new NativeLibraryLoader(spec, options);

        // Act
        var ex = Assert.Throws<NativeLibraryException>(() => loader.GetHandle());

        // Assert
        Assert.Equal("onnxruntime", ex.LibraryName);
        Assert.Equal("/nonexistent/onnxruntime/libonnxruntime.so.1", ex.PathsTried[0]);
        Assert.Contains("/also/missing/libonnxruntime-does-not-exist.so.1", ex.PathsTried);
        Assert.Contains("/nonexistent/onnxruntime/libonnxruntime.so.1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Microsoft.ML.OnnxRuntime", ex.Message, StringComparison.Ordinal);
        Assert.Contains("onnxruntime-node", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OnnxRuntimeLibraryOptions.Shared.OnnxRuntimePath", ex.Message, StringComparison.Ordinal);
        Assert.False(options.IsFrozen);
    }

    [Fact]
    public void AnExplicitPathToAnotherLibrary_IsRejected_NamingThePathAndTheMissingExport()
    {
        // Arrange: a real shared library that is not ONNX Runtime (the runtime's own System.Native).
        var notOrt = Path.Combine(RuntimeEnvironment.GetRuntimeDirectory(), "libSystem.Native.so");
        Assert.True(File.Exists(notOrt), notOrt);
        var options = new OnnxRuntimeLibraryOptions { OnnxRuntimePath = notOrt };

        // Act
        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(OrtLibrary.Spec, options).GetHandle());

        // Assert
        Assert.Equal(notOrt, ex.PathsTried[0]);
        Assert.Contains(notOrt, ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not export OrtGetApiBase", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OnnxRuntimeLibraryOptions.Shared", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_SetAndClearThePath_AndChainSearchDirectories()
    {
        var options = new OnnxRuntimeLibraryOptions();
        Assert.Null(options.OnnxRuntimePath);

        options.OnnxRuntimePath = "/opt/ort/libonnxruntime.so.1";
        Assert.Equal("/opt/ort/libonnxruntime.so.1", options.OnnxRuntimePath);
        Assert.Equal("/opt/ort/libonnxruntime.so.1", options.GetLibraryPath("onnxruntime"));
        Assert.Same(options, options.AddSearchDirectory("/a").AddSearchDirectory("/b"));
        Assert.Equal(["/a", "/b"], options.SearchDirectories);

        options.OnnxRuntimePath = null;
        Assert.Null(options.OnnxRuntimePath);
        Assert.Throws<ArgumentException>(() => options.AddSearchDirectory(" "));
    }
}
