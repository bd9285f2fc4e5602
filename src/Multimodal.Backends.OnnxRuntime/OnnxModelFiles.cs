// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.Json;
using Multimodal.Backends.OnnxRuntime.Native;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>Finds the ONNX files of a model folder and the facts the graphs do not carry (context length, patch size).</summary>
internal sealed class OnnxModelFiles
{
    internal const string VisionEncoder = "vision_encoder";
    internal const string EmbedTokens = "embed_tokens";
    internal const string Decoder = "decoder_model_merged";

    private OnnxModelFiles(string folder, string onnxFolder, JsonElement? config)
    {
        Folder = folder;
        OnnxFolder = onnxFolder;
        Config = config;
    }

    /// <summary>Gets the model folder.</summary>
    public string Folder { get; }

    /// <summary>Gets the folder with the ONNX files.</summary>
    public string OnnxFolder { get; }

    /// <summary>Gets the model's config.json, when there is one.</summary>
    public JsonElement? Config { get; }

    /// <summary>Opens a model folder.</summary>
    /// <exception cref="ModelLoadException">The folder or its ONNX folder does not exist.</exception>
    public static OnnxModelFiles Open(string folder, OnnxRuntimeBackendOptions options)
    {
        if (!Directory.Exists(folder))
        {
            throw new ModelLoadException($"The model folder '{folder}' does not exist.", folder);
        }

        var onnx = Path.GetFullPath(Path.Combine(folder, options.OnnxFolder));
        if (!Directory.Exists(onnx))
        {
            throw new ModelLoadException(
                $"The model folder '{folder}' has no ONNX export: '{onnx}' does not exist. Export the model to ONNX (eng/onnx/export.py for the bundled models; optimum-cli export onnx for Hugging Face ones) or set OnnxRuntimeBackendOptions.OnnxFolder.",
                folder);
        }

        // A folder with only ONNX files is fine (the facts then come from the graphs); a malformed config.json is not.
        return new OnnxModelFiles(folder, onnx, JsonConfig.ReadFile(folder, "config.json"));
    }

    /// <summary>Gets the path of a graph in the chosen variant, or <see langword="null"/> when it is absent and optional.</summary>
    /// <exception cref="ModelLoadException">A required graph is missing.</exception>
    public string? Find(string stem, OnnxRuntimeBackendOptions options, bool required)
    {
        var variant = options.FileVariants.TryGetValue(stem, out var v) ? v : options.Variant;
        var name = string.IsNullOrEmpty(variant) ? stem + ".onnx" : $"{stem}_{variant}.onnx";
        var path = Path.Combine(OnnxFolder, name);
        if (File.Exists(path))
        {
            return path;
        }

        if (!required)
        {
            return null;
        }

        var present = Directory.EnumerateFiles(OnnxFolder, "*.onnx").Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        throw new ModelLoadException(
            $"'{OnnxFolder}' has no {name}. It holds: {(present.Length == 0 ? "no .onnx files" : string.Join(", ", present))}."
            + (string.IsNullOrEmpty(variant) ? string.Empty : $" Variant '{variant}' was asked for; set OnnxRuntimeBackendOptions.Variant to one that exists."),
            Folder);
    }

    /// <summary>Gets the language model's context length from config.json (or genai_config.json), or <paramref name="fallback"/>.</summary>
    public int ContextLength(int fallback)
    {
        if (Config is { } config)
        {
            var text = config.Section("text_config") ?? config;
            foreach (var key in (string[])["max_position_embeddings", "max_seq_len", "n_positions", "seq_length"])
            {
                var value = text.Int(key, 0);
                if (value <= 0)
                {
                    value = config.Int(key, 0);
                }

                if (value > 0)
                {
                    return value;
                }
            }
        }

        return JsonConfig.ReadFile(OnnxFolder, "genai_config.json") is { } genai && genai.Section("model") is { } model && model.Int("context_length", 0) is > 0 and var length
            ? length
            : fallback;
    }

    /// <summary>Gets the vision tower's patch size from config.json (or <c>visual_encoder/config.json</c>), or <paramref name="fallback"/>.</summary>
    public int PatchSize(int fallback) => ReadPatchSize(Folder, Config, fallback);

    /// <summary>Reads the vision tower's patch size of a model folder: from its config.json (<see cref="ReadPatchSize(JsonElement?, int)"/>),
    /// else from <c>visual_encoder/config.json</c> (the xtuner layout: AuroraCap, whose root config is the language
    /// model's), else <paramref name="fallback"/>. The ONNX vision encoder derives AuroraCap's ToMe r from it.</summary>
    internal static int ReadPatchSize(string folder, JsonElement? modelConfig, int fallback) =>
        ReadPatchSize(modelConfig, ReadPatchSize(JsonConfig.ReadFile(Path.Combine(folder, "visual_encoder"), "config.json"), fallback));

    /// <summary>Reads the vision tower's patch size from a model's config.json (<c>vision_config</c>,
    /// <c>mm_vision_tower_config</c>, or the root), or returns <paramref name="fallback"/>.</summary>
    internal static int ReadPatchSize(JsonElement? modelConfig, int fallback)
    {
        if (modelConfig is not { } config)
        {
            return fallback;
        }

        foreach (var section in (string[])["vision_config", "mm_vision_tower_config"])
        {
            if (config.Section(section) is { } vision && vision.Int("patch_size", 0) is > 0 and var patch)
            {
                return patch;
            }
        }

        return config.Int("patch_size", fallback);
    }

    /// <summary>Creates a session for one of the model's graphs, reporting a graph ONNX Runtime cannot load as a <see cref="ModelLoadException"/>.</summary>
    /// <param name="path">The graph.</param>
    /// <param name="options">The session options.</param>
    /// <param name="modelFolder">The model folder, for the exception's <see cref="ModelLoadException.ModelPath"/>.</param>
    /// <returns>The session.</returns>
    /// <exception cref="ModelLoadException">ONNX Runtime rejected the graph (damaged, truncated, an operator it lacks) or the execution provider; ONNX Runtime's <see cref="OnnxRuntimeException"/> is the inner exception.</exception>
    /// <exception cref="NativeLibraryException">ONNX Runtime itself cannot be loaded.</exception>
    public static OrtSession CreateSession(string path, OnnxRuntimeSessionOptions options, string modelFolder)
    {
        try
        {
            return OrtSession.Create(path, options);
        }
        catch (OnnxRuntimeException ex)
        {
            // IModelBackend.LoadAsync promises ModelLoadException for weights that are missing or malformed; the caller
            // needs the file, its size (a truncated download shows here) and ONNX Runtime's own reason.
            var hint = ex.ErrorCode is OnnxRuntimeErrorCode.InvalidProtobuf or OnnxRuntimeErrorCode.InvalidGraph
                ? " The file is damaged or incomplete (an interrupted download or export?); export it again (eng/onnx/export.py for the bundled models; optimum-cli export onnx for Hugging Face ones)."
                : string.Empty;
            throw new ModelLoadException($"ONNX Runtime could not load {Describe(path)} from '{Path.GetDirectoryName(path)}': {ex.Message}{hint}", modelFolder, ex);
        }
    }

    /// <summary>Describes a file for messages.</summary>
    public static string Describe(string path) => string.Create(CultureInfo.InvariantCulture, $"{Path.GetFileName(path)} ({new FileInfo(path).Length:N0} bytes)");
}
