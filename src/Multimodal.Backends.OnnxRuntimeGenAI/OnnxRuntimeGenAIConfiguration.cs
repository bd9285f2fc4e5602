// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Multimodal.Backends.OnnxRuntime;
using static Multimodal.Backends.OnnxRuntime.OnnxRuntimeConfiguration;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>Binds <see cref="OnnxRuntimeGenAIBackendOptions"/> (and the library location) from a configuration section, checking every value and naming the key of each bad one.</summary>
/// <remarks>Works as the ONNX Runtime backend's binding does (source-generated binder into optional settings, then checks), and binds <c>VisionSession</c> with it.</remarks>
internal static class OnnxRuntimeGenAIConfiguration
{
    private static readonly string[] s_keys =
    [
        nameof(OnnxRuntimeGenAIBackendOptions.OnnxFolder), nameof(OnnxRuntimeGenAIBackendOptions.IntraOpThreads),
        nameof(OnnxRuntimeGenAIBackendOptions.ExecutionProvider), nameof(OnnxRuntimeGenAIBackendOptions.CudaDeviceId),
        nameof(OnnxRuntimeGenAIBackendOptions.VisionSession), nameof(OnnxRuntimeGenAIBackendOptions.VisionBatchSize),
        nameof(OnnxRuntimeGenAIBackendSettings.NativeLibraryDirectory), nameof(OnnxRuntimeGenAIBackendSettings.NativeLibraryPath),
    ];

    /// <summary>Binds backend options from a section, and applies its native-library keys to the shared GenAI (and ONNX Runtime) library options.</summary>
    /// <param name="configuration">The section (for example <c>Multimodal:OnnxRuntimeGenAI</c>).</param>
    /// <returns>New options: the defaults, overridden by every key present.</returns>
    /// <exception cref="OptionsValidationException">A key is unknown or a value is invalid; the message names every such key.</exception>
    /// <exception cref="InvalidOperationException">A native-library key asks for a change after the library has loaded.</exception>
    public static OnnxRuntimeGenAIBackendOptions Bind(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var failures = new List<string>();
        var options = new OnnxRuntimeGenAIBackendOptions();
        CheckKeys(configuration, s_keys, failures);
        var settings = Get(configuration, static c => c.Get<OnnxRuntimeGenAIBackendSettings>(), failures);
        if (settings is not null)
        {
            if (settings.OnnxFolder is { } folder && CheckFolder(configuration, nameof(OnnxRuntimeGenAIBackendOptions.OnnxFolder), folder, failures))
            {
                options.OnnxFolder = folder;
            }

            if (settings.IntraOpThreads is { } threads && CheckAtLeast(configuration, nameof(OnnxRuntimeGenAIBackendOptions.IntraOpThreads), threads, 0, failures))
            {
                options.IntraOpThreads = threads;
            }

            if (ParseEnum<OnnxRuntimeExecutionProvider>(configuration, nameof(OnnxRuntimeGenAIBackendOptions.ExecutionProvider), settings.ExecutionProvider, failures) is { } provider)
            {
                options.ExecutionProvider = provider;
            }

            if (settings.CudaDeviceId is { } device && CheckAtLeast(configuration, nameof(OnnxRuntimeGenAIBackendOptions.CudaDeviceId), device, 0, failures))
            {
                options.CudaDeviceId = device;
            }

            if (settings.VisionBatchSize is { } batch && CheckAtLeast(configuration, nameof(OnnxRuntimeGenAIBackendOptions.VisionBatchSize), batch, 1, failures))
            {
                options.VisionBatchSize = batch;
            }

            CheckLibraryKeys(configuration, settings.NativeLibraryDirectory, settings.NativeLibraryPath, failures);
        }

        BindSession(configuration.GetSection(nameof(OnnxRuntimeGenAIBackendOptions.VisionSession)), options.VisionSession, failures);
        ThrowIfFailed(configuration, typeof(OnnxRuntimeGenAIBackendOptions), failures);

        // Only a valid section touches the process-wide library options. GenAI needs ONNX Runtime loaded first, from
        // OnnxRuntimeLibraryOptions.Shared, so the folder goes to both.
        if (settings?.NativeLibraryDirectory is { } directory)
        {
            var ort = OnnxRuntimeLibraryOptions.Shared;
            var genai = OnnxRuntimeGenAILibraryOptions.Shared;
            AddSearchDirectory(configuration, ort, directory, d => ort.AddSearchDirectory(d));
            AddSearchDirectory(configuration, genai, directory, d => genai.AddSearchDirectory(d));
        }

        if (settings?.NativeLibraryPath is { } path)
        {
            var genai = OnnxRuntimeGenAILibraryOptions.Shared;
            SetLibraryPath(configuration, genai.GenAIPath, path, p => genai.GenAIPath = p);
        }

        return options;
    }
}

/// <summary>The keys of an ONNX Runtime GenAI backend section, all optional, as the binder fills them (<c>VisionSession</c> is bound on its own).</summary>
internal sealed class OnnxRuntimeGenAIBackendSettings
{
    /// <summary>Gets or sets <see cref="OnnxRuntimeGenAIBackendOptions.OnnxFolder"/>.</summary>
    public string? OnnxFolder { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeGenAIBackendOptions.IntraOpThreads"/>.</summary>
    public int? IntraOpThreads { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeGenAIBackendOptions.ExecutionProvider"/> by name.</summary>
    public string? ExecutionProvider { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeGenAIBackendOptions.CudaDeviceId"/>.</summary>
    public int? CudaDeviceId { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeGenAIBackendOptions.VisionBatchSize"/>.</summary>
    public int? VisionBatchSize { get; set; }

    /// <summary>Gets or sets a folder added to the search directories of both <see cref="OnnxRuntimeGenAILibraryOptions.Shared"/> and <see cref="OnnxRuntimeLibraryOptions.Shared"/>.</summary>
    public string? NativeLibraryDirectory { get; set; }

    /// <summary>Gets or sets <see cref="OnnxRuntimeGenAILibraryOptions.GenAIPath"/> of <see cref="OnnxRuntimeGenAILibraryOptions.Shared"/>.</summary>
    public string? NativeLibraryPath { get; set; }
}
