// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using System.Text.Json;
using Multimodal.Models.MiniCpmV;
using Multimodal.Preprocessing;

namespace Multimodal.Cli;

/// <summary>
/// <c>multimodal preprocess</c>: runs a family's image preprocessing and writes the pixel tensors as <c>.npy</c>,
/// printing one JSON object with the views, the grid and the visual token counts.
/// </summary>
internal static class PreprocessCommand
{
    /// <summary>The family names accepted by <c>--family</c>.</summary>
    internal static readonly string[] Families = ["llava", "llava-mpt", "longva", "auroracap", "minicpmv", "aria"];

    public static Command Create(TextWriter output)
    {
        var model = new Option<DirectoryInfo?>("--model", "-m") { Description = "A model folder; the family is found from its config.json and options from preprocessor_config.json (MiniCPM-V's slicing, scale_resolution and query_num from config.json)." };
        var family = new Option<string?>("--family") { Description = "The family, instead of --model: " + string.Join(", ", Families) + "." };
        family.AcceptOnlyFromAmong(Families);
        var config = new Option<FileInfo?>("--config") { Description = "A preprocessor_config.json to read options from (with --family)." };
        var image = new Option<FileInfo>("--image", "-i") { Description = "The image file (or a uint8 .npy array).", Required = true };
        var outFile = new Option<FileInfo?>("--out", "-o") { Description = "Where to write the tensors: F.npy holds [views, 3, H, W] when all views share a size, else F_0.npy, F_1.npy, … one [3, H, W] per view." };
        var command = new Command("preprocess", "Run a family's image preprocessing and write the tensors the vision encoder receives.") { model, family, config, image, outFile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var folder = parse.GetValue(model);
            var name = parse.GetValue(family);
            if ((folder is null) == (name is null))
            {
                throw new ArgumentException("Give either --model <folder> or --family <name>.");
            }

            var configFile = parse.GetValue(config) ?? (folder is null ? null : new FileInfo(Path.Combine(folder.FullName, "preprocessor_config.json")));
            var options = ReadOptions(configFile);
            name ??= DetectFamily(folder!);
            var frame = await ImageCommands.LoadAsync(parse.GetRequiredValue(image), cancellationToken).ConfigureAwait(false);
            var result = Run(name, frame, options, folder is null ? null : MiniCpmVGeometry(name, folder));

            var written = new List<string>();
            if (parse.GetValue(outFile) is { } target)
            {
                written.AddRange(Write(result, target.FullName));
            }

            var summary = new
            {
                family = name,
                input = new { width = frame.Width, height = frame.Height },
                grid = new { rows = result.Split.GridRows, columns = result.Split.GridColumns },
                views = result.Split.Views.Select((v, i) => new
                {
                    kind = v.Kind.ToString().ToLowerInvariant(),
                    row = v.Row,
                    column = v.Column,
                    width = result.PixelValues[i].Dimension(2),
                    height = result.PixelValues[i].Dimension(1),
                    tokens = result.ViewTokenCounts[i],
                }),
                tokens = result.TokenCount,
                files = written,
            };
            await output.WriteLineAsync(JsonSerializer.Serialize(summary)).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    internal static PreprocessedImage Run(string family, ImageFrame frame, IReadOnlyDictionary<string, object?> options, MiniCpmVSliceGeometry? miniCpmV = null) => family switch
    {
        "llava" => LlavaImagePreprocessor.Llava15.Preprocess(frame, options),
        "llava-mpt" => LlavaImagePreprocessor.LlavaMptPreview.Preprocess(frame, options),
        "longva" => LongVaImagePreprocessor.LongVa.Preprocess(frame, options),
        "auroracap" => ClipImagePreprocessor.AuroraCap.Preprocess(frame, options),
        "minicpmv" => (miniCpmV is null ? MiniCpmVImagePreprocessor.MiniCpmV2 : new MiniCpmVImagePreprocessor(miniCpmV)).Preprocess(frame, options),
        "aria" => AriaImagePreprocessor.Aria.Preprocess(frame, options),
        _ => throw new ArgumentException($"Unknown family '{family}'. Known: {string.Join(", ", Families)}."),
    };

    /// <summary>MiniCPM-V keeps its slicing in config.json, read as the family reads it; <see langword="null"/> for other families.</summary>
    internal static MiniCpmVSliceGeometry? MiniCpmVGeometry(string family, DirectoryInfo folder) =>
        family == "minicpmv" ? MiniCpmVFamily.ReadGeometry(ModelFolder.Open(folder.FullName)) : null;

    /// <summary>Maps a model folder to a family from config.json (model_type, architectures) and its layout.</summary>
    internal static string DetectFamily(DirectoryInfo folder)
    {
        var model = ModelFolder.Open(folder.FullName);
        var type = model.ModelType ?? string.Empty;
        var architectures = string.Join(",", model.Architectures);
        if (Directory.Exists(Path.Combine(folder.FullName, "visual_encoder")) && Directory.Exists(Path.Combine(folder.FullName, "projector")))
        {
            return "auroracap";
        }

        return type switch
        {
            "aria" => "aria",
            "minicpmv" => "minicpmv",
            "llava_qwen" or "qwen2" when model.Config.TryGetProperty("mm_vision_tower", out _) => "longva",
            "llava_mpt" or "mpt" => "llava-mpt",
            "llava" or "llava_llama" => "llava",
            _ when architectures.Contains("MiniCPMV", StringComparison.Ordinal) => "minicpmv",
            _ when architectures.Contains("Aria", StringComparison.Ordinal) => "aria",
            _ => throw new ModelLoadException($"Cannot tell the family of '{model.Path}' (model_type '{type}', architectures [{architectures}]). Pass --family.", model.Path),
        };
    }

    /// <summary>Reads the options the preprocessors understand from a preprocessor_config.json.</summary>
    internal static Dictionary<string, object?> ReadOptions(FileInfo? file)
    {
        var options = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (file is null || !file.Exists)
        {
            return options;
        }

        using var doc = JsonDocument.Parse(File.ReadAllBytes(file.FullName));
        foreach (var key in new[] { "max_slice_nums", "max_image_size", "split_image", "never_split" })
        {
            if (doc.RootElement.TryGetProperty(key, out var value))
            {
                options[key] = value.ValueKind switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.Number => value.GetInt32(),
                    _ => null,
                };
            }
        }

        return options;
    }

    private static List<string> Write(PreprocessedImage result, string target)
    {
        var tensors = result.PixelValues;
        var written = new List<string>();
        var sameShape = tensors.All(t => t.Shape.SequenceEqual(tensors[0].Shape));
        if (sameShape)
        {
            var shape = tensors[0].Shape.ToArray();
            var all = new float[tensors.Sum(t => t.Length)];
            var offset = 0;
            foreach (var t in tensors)
            {
                t.Span.CopyTo(all.AsSpan(offset));
                offset += t.Length;
            }

            using var stream = File.Create(target);
            NpyFormat.Write(stream, all, [tensors.Count, .. shape]);
            written.Add(target);
            return written;
        }

        var stem = Path.Combine(Path.GetDirectoryName(target)!, Path.GetFileNameWithoutExtension(target));
        for (var i = 0; i < tensors.Count; i++)
        {
            var path = $"{stem}_{i}.npy";
            using var stream = File.Create(path);
            NpyFormat.Write(stream, tensors[i].Span, tensors[i].Shape);
            written.Add(path);
        }

        return written;
    }
}
