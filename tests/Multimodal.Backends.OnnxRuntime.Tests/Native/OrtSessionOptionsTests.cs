// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using static Multimodal.Backends.OnnxRuntime.Native.OrtTestEnvironment;

namespace Multimodal.Backends.OnnxRuntime.Native;

public sealed class OrtSessionOptionsTests
{
    public OrtSessionOptionsTests() => EnsureConfigured();

    [Fact]
    public void Defaults_AreOnnxRuntimesDefaults()
    {
        var options = new OnnxRuntimeSessionOptions();

        Assert.Equal(0, options.IntraOpThreads);
        Assert.Equal(0, options.InterOpThreads);
        Assert.Equal(OnnxRuntimeGraphOptimizationLevel.All, options.GraphOptimizationLevel);
        Assert.Equal(OnnxRuntimeExecutionProvider.Cpu, options.ExecutionProvider);
        Assert.Equal(0, options.CudaDeviceId);
        Assert.Null(options.CudaMemoryLimitBytes);
        Assert.True(options.EnableMemoryPattern);
        Assert.True(options.EnableCpuMemoryArena);
        Assert.Empty(options.ConfigEntries);
    }

    [Fact]
    public void Setters_RejectInvalidValues()
    {
        var options = new OnnxRuntimeSessionOptions();

        Assert.Throws<ArgumentOutOfRangeException>("value", () => options.IntraOpThreads = -1);
        Assert.Throws<ArgumentOutOfRangeException>("value", () => options.InterOpThreads = -1);
        Assert.Throws<ArgumentOutOfRangeException>("value", () => options.CudaDeviceId = -1);
        Assert.Throws<ArgumentOutOfRangeException>("value", () => options.CudaMemoryLimitBytes = 0);
        Assert.Throws<ArgumentOutOfRangeException>("value", () => options.GraphOptimizationLevel = (OnnxRuntimeGraphOptimizationLevel)3);
        Assert.Throws<ArgumentOutOfRangeException>("value", () => options.ExecutionProvider = (OnnxRuntimeExecutionProvider)7);
        options.CudaMemoryLimitBytes = 1L << 30;
        options.CudaMemoryLimitBytes = null;
        Assert.Null(options.CudaMemoryLimitBytes);
    }

    [Fact]
    public void Cuda_WithoutItsProviderLibraries_ThrowsOnnxRuntimeException_NamingTheLibraryAndWhatToInstall()
    {
        // Arrange: this machine has the CPU/GPU-capable libonnxruntime.so.1 but no provider libraries, CUDA or cuDNN.
        var options = new OnnxRuntimeSessionOptions
        {
            ExecutionProvider = OnnxRuntimeExecutionProvider.Cuda,
            CudaDeviceId = 0,
            CudaMemoryLimitBytes = 2L << 30,
        };

        // Act
        var ex = Assert.Throws<OnnxRuntimeException>(() => OrtSession.Create(Model("add.onnx"), options));

        // Assert
        Assert.StartsWith("ONNX Runtime could not enable the CUDA execution provider on device 0: ", ex.Message, StringComparison.Ordinal);
        Assert.Contains("libonnxruntime_providers_shared.so", ex.Message, StringComparison.Ordinal);
        Assert.Contains("libonnxruntime_providers_cuda.so", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CUDA could not be enabled", ex.Message, StringComparison.Ordinal);
        Assert.Contains("CUDA 12 and cuDNN 9", ex.Message, StringComparison.Ordinal);

        // ONNX Runtime's own part of the message names the file it failed to load.
        var ortPart = ex.Message[..ex.Message.IndexOf("CUDA could not be enabled", StringComparison.Ordinal)];
        Assert.Contains("libonnxruntime_providers", ortPart, StringComparison.Ordinal);
    }
}
