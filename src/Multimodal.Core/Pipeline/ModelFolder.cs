// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;

namespace Multimodal;

/// <summary>A model folder in Hugging Face layout, with its parsed <c>config.json</c>.</summary>
public sealed class ModelFolder
{
    private ModelFolder(string path, JsonElement config)
    {
        Path = path;
        Config = config;
    }

    /// <summary>Gets the folder's full path.</summary>
    public string Path { get; }

    /// <summary>Gets the root of <c>config.json</c>.</summary>
    public JsonElement Config { get; }

    /// <summary>Gets <c>model_type</c>, or <see langword="null"/> when absent.</summary>
    public string? ModelType => Config.TryGetProperty("model_type", out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>Gets <c>architectures</c> (empty when absent).</summary>
    public IReadOnlyList<string> Architectures =>
        Config.TryGetProperty("architectures", out var v) && v.ValueKind == JsonValueKind.Array
            ? [.. v.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!)]
            : [];

    /// <summary>Opens a model folder and parses its <c>config.json</c>.</summary>
    /// <param name="path">The folder.</param>
    /// <returns>The folder description.</returns>
    /// <exception cref="ModelLoadException">The folder does not exist, has no <c>config.json</c>, or the file is not valid JSON.</exception>
    public static ModelFolder Open(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = System.IO.Path.GetFullPath(path);
        if (!Directory.Exists(full))
        {
            throw new ModelLoadException(
                File.Exists(full)
                    ? $"'{full}' is a file; pass the model folder that contains config.json."
                    : $"Model folder '{full}' does not exist. Pass the folder of a Hugging Face checkpoint (it contains config.json).",
                full);
        }

        var configPath = System.IO.Path.Combine(full, "config.json");
        if (!File.Exists(configPath))
        {
            throw new ModelLoadException($"Model folder '{full}' has no config.json, so its family cannot be detected. Pass the folder of a Hugging Face checkpoint.", full);
        }

        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(configPath), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ModelLoadException($"'{configPath}' must hold a JSON object; it holds a {doc.RootElement.ValueKind}.", full);
            }

            return new ModelFolder(full, doc.RootElement.Clone());
        }
        catch (JsonException ex)
        {
            throw new ModelLoadException($"'{configPath}' is not valid JSON (line {ex.LineNumber + 1}): {ex.Message}", full, ex);
        }
        catch (IOException ex)
        {
            throw new ModelLoadException($"Cannot read '{configPath}': {ex.Message}", full, ex);
        }
    }

    /// <summary>Picks the family that can load this folder.</summary>
    /// <param name="families">The installed families.</param>
    /// <returns>The first family whose <see cref="IModelFamily.CanLoad"/> accepts the folder.</returns>
    /// <exception cref="ModelLoadException">No family recognises the folder; the message lists the folder's model type and the installed families.</exception>
    public IModelFamily DetectFamily(IEnumerable<IModelFamily> families)
    {
        ArgumentNullException.ThrowIfNull(families);
        var list = families.ToList();
        foreach (var f in list)
        {
            if (f.CanLoad(this))
            {
                return f;
            }
        }

        var installed = list.Count == 0 ? "none" : string.Join(", ", list.Select(f => f.Name));
        throw new ModelLoadException(
            $"No installed model family recognises '{Path}' (model_type '{ModelType ?? "(missing)"}', architectures [{string.Join(", ", Architectures)}]). Installed families: {installed}. Add the family's package (for example Multimodal.Models.Llava) and register it.",
            Path);
    }
}
