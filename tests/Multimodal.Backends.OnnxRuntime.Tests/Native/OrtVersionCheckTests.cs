// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Interop;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>A library that reports a version older than 1.11 is refused by the loader with a <see cref="NativeLibraryException"/> that says why.</summary>
public sealed class OrtVersionCheckTests
{
    public OrtVersionCheckTests() => OrtTestEnvironment.EnsureConfigured();

    [Theory]
    [InlineData("1.10.0")]
    [InlineData("1.9.1")]
    public void ALibraryReportingATooOldVersion_IsRejected_WithANativeLibraryExceptionNamingTheVersionAndTheMinimum(string version)
    {
        // Arrange: the real library, behind the real version check fed an old version string (ONNX Runtime's
        // GetVersionString cannot be made to lie), on fresh options so that the shared ones are not touched.
        var path = Path.Combine(OrtTestEnvironment.NativeDirectory, "libonnxruntime.so.1");
        var options = new OnnxRuntimeLibraryOptions { OnnxRuntimePath = path };
        var spec = OrtLibrary.Spec with { CheckVersion = _ => OrtLibrary.CheckVersionString(version) };

        // Act
        var ex = Assert.Throws<NativeLibraryException>(() => new NativeLibraryLoader(spec, options).GetHandle());

        // Assert
        Assert.Equal("onnxruntime", ex.LibraryName);
        Assert.Equal(path, ex.PathsTried[0]);
        Assert.Contains($"was found at '{path}' but cannot be used: it is version {version}, but ONNX Runtime 1.11 or newer is required (C API version 11)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("OnnxRuntimeLibraryOptions.Shared", ex.Message, StringComparison.Ordinal);
        Assert.False(options.IsFrozen);
    }

    [Fact]
    public void TheVersionCheck_Accepts1_11_AndRejects1_10_0()
    {
        Assert.Null(OrtLibrary.CheckVersionString("1.11.0"));
        Assert.Equal(
            "it is version 1.10.0, but ONNX Runtime 1.11 or newer is required (C API version 11)",
            OrtLibrary.CheckVersionString("1.10.0"));
    }
}
