// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;

namespace Multimodal.Backends.OnnxRuntime.Native;

/// <summary>Turns <see cref="OnnxRuntimeSessionOptions"/> into a native <c>OrtSessionOptions</c>.</summary>
internal static unsafe class OrtSessionOptionsFactory
{
    /// <summary>What to install when the CUDA provider cannot be enabled, appended to ONNX Runtime's message.</summary>
    internal static readonly string CudaAdvice =
        "CUDA could not be enabled. Install the CUDA build of ONNX Runtime together with its provider libraries " +
        $"({ProviderLibrary("onnxruntime_providers_shared")} and {ProviderLibrary("onnxruntime_providers_cuda")} next to the ONNX Runtime library; " +
        "for example from the NuGet package Microsoft.ML.OnnxRuntime.Gpu.Linux or Microsoft.ML.OnnxRuntime.Gpu.Windows), " +
        "plus CUDA 12 and cuDNN 9, or use OnnxRuntimeExecutionProvider.Cpu.";

    /// <summary>Creates native session options from managed ones.</summary>
    /// <param name="options">The settings; <see langword="null"/> for the defaults.</param>
    /// <returns>The options, owned by the caller.</returns>
    /// <exception cref="OnnxRuntimeException">ONNX Runtime rejects a setting, or the CUDA provider cannot be enabled.</exception>
    /// <exception cref="ArgumentException">A configuration entry has an empty key or contains a NUL character.</exception>
    public static SafeOrtSessionOptionsHandle Create(OnnxRuntimeSessionOptions? options)
    {
        options ??= new OnnxRuntimeSessionOptions();
        nint raw;
        OrtStatus.ThrowIfFailed(OrtApi.CreateSessionOptions(&raw), "create session options");
        var handle = SafeOrtSessionOptionsHandle.Adopt(raw);
        try
        {
            Apply(raw, options);
            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    private static void Apply(nint native, OnnxRuntimeSessionOptions options)
    {
        if (options.IntraOpThreads > 0)
        {
            OrtStatus.ThrowIfFailed(OrtApi.SetIntraOpNumThreads(native, options.IntraOpThreads), "set the intra-op thread count");
        }

        if (options.InterOpThreads > 0)
        {
            OrtStatus.ThrowIfFailed(OrtApi.SetInterOpNumThreads(native, options.InterOpThreads), "set the inter-op thread count");
        }

        OrtStatus.ThrowIfFailed(OrtApi.SetSessionGraphOptimizationLevel(native, (int)options.GraphOptimizationLevel), "set the graph optimization level");
        OrtStatus.ThrowIfFailed(
            options.EnableMemoryPattern ? OrtApi.EnableMemPattern(native) : OrtApi.DisableMemPattern(native),
            "set the memory pattern option");
        OrtStatus.ThrowIfFailed(
            options.EnableCpuMemoryArena ? OrtApi.EnableCpuMemArena(native) : OrtApi.DisableCpuMemArena(native),
            "set the CPU memory arena option");

        foreach (var (key, value) in options.ConfigEntries)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(key, nameof(options.ConfigEntries));
            fixed (byte* k = OrtMemory.Utf8(key, nameof(options.ConfigEntries)))
            fixed (byte* v = OrtMemory.Utf8(value ?? string.Empty, nameof(options.ConfigEntries)))
            {
                var status = OrtApi.AddSessionConfigEntry(native, k, v);
                if (status != 0)
                {
                    OrtStatus.Throw(status, $"add the session configuration entry '{key}'");
                }
            }
        }

        if (options.ExecutionProvider == OnnxRuntimeExecutionProvider.Cuda)
        {
            AppendCuda(native, options);
        }
    }

    // CreateCUDAProviderOptions → UpdateCUDAProviderOptions → SessionOptionsAppendExecutionProvider_CUDA_V2 → release:
    // the session options copy the provider options, so ours are released right away.
    private static void AppendCuda(nint native, OnnxRuntimeSessionOptions options)
    {
        var doing = $"enable the CUDA execution provider on device {options.CudaDeviceId}";
        nint raw;
        var status = OrtApi.CreateCudaProviderOptions(&raw);
        if (status != 0)
        {
            throw OrtStatus.ToException(status, doing, CudaAdvice);
        }

        using var cuda = SafeOrtCudaProviderOptionsHandle.Adopt(raw);
        List<string> keys = ["device_id"];
        List<string> values = [options.CudaDeviceId.ToString(CultureInfo.InvariantCulture)];
        if (options.CudaMemoryLimitBytes is { } limit)
        {
            keys.Add("gpu_mem_limit");
            values.Add(limit.ToString(CultureInfo.InvariantCulture));
        }

        using (var k = new Utf8StringArray(keys, nameof(keys)))
        using (var v = new Utf8StringArray(values, nameof(values)))
        {
            status = OrtApi.UpdateCudaProviderOptions(raw, k.Pointers, v.Pointers, (nuint)k.Count);
        }

        if (status != 0)
        {
            throw OrtStatus.ToException(status, doing, CudaAdvice);
        }

        status = OrtApi.SessionOptionsAppendExecutionProviderCudaV2(native, raw);
        if (status != 0)
        {
            throw OrtStatus.ToException(status, doing, CudaAdvice);
        }
    }

    private static string ProviderLibrary(string name) =>
        OperatingSystem.IsWindows() ? name + ".dll" : OperatingSystem.IsMacOS() ? "lib" + name + ".dylib" : "lib" + name + ".so";
}
