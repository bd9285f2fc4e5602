// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace Multimodal.Cli;

/// <summary><c>multimodal inspect [--model] &lt;folder&gt; [--backend B]</c>: describes a model folder (config, detected
/// family, files, sizes, and each safetensors checkpoint's tensor and parameter counts) and the backend.</summary>
/// <remarks>The managed backend's weights are not loaded (the checkpoint headers say enough). With
/// <c>--backend onnxruntime</c> or <c>onnxruntime-genai</c> the ONNX export is loaded, so that what loaded (the execution
/// provider, the decoder's vocabulary and context, the vision encoder's input) is reported, or why it did not.</remarks>
internal static class InspectCommand
{
    public static Command Create(TextWriter output)
    {
        var folder = new Argument<DirectoryInfo?>("folder") { Description = "A model folder in Hugging Face layout (it contains config.json).", Arity = ArgumentArity.ZeroOrOne };
        var modelOption = new Option<DirectoryInfo?>("--model") { Description = "The model folder (instead of the argument)." };
        var backend = new BackendOptions(withQuantize: false);
        var command = new Command("inspect", "Describe a model folder: model type, detected family, files, tensors and parameters, and the backend (--backend onnxruntime or onnxruntime-genai loads the ONNX export and reports what it loaded).") { folder, modelOption };
        backend.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var path = (parse.GetValue(modelOption) ?? parse.GetValue(folder))?.FullName
                ?? throw new UnsupportedRequestException("Give the model folder (multimodal inspect --model <folder>). Run 'multimodal --help' for usage.", "--model");
            var model = ModelFolder.Open(path);
            var settings = backend.Read(parse);
            CliModels.ValidateFlags(settings);

            // Load before printing anything, so that a failure is the one error line and nothing else.
            var loaded = settings.Backend == CliModels.Managed ? null : await LoadAsync(model.Path, settings, cancellationToken).ConfigureAwait(false);
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(output),
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
            console.MarkupLine($"[bold]{Markup.Escape(model.Path)}[/]");
            console.MarkupLine($"model_type: {Markup.Escape(model.ModelType ?? "(missing)")}");
            console.MarkupLine($"architectures: {Markup.Escape(string.Join(", ", model.Architectures))}");
            var table = new Table().AddColumn("file").AddColumn(new TableColumn("size").RightAligned());
            long total = 0;
            foreach (var file in Directory.EnumerateFiles(model.Path, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var length = new FileInfo(file).Length;
                total += length;
                table.AddRow(Markup.Escape(Path.GetRelativePath(model.Path, file)), FormatSize(length));
            }

            table.AddRow("[bold]total[/]", FormatSize(total));
            console.Write(table);
            var family = CliModels.Families.FirstOrDefault(f => f.CanLoad(model));
            console.MarkupLine($"family: {Markup.Escape(family?.Name ?? "(no installed family recognises this folder)")}");
            console.MarkupLine($"family (managed backend): {Markup.Escape(Backends.Managed.ManagedModel.DetectFamily(model.Path) ?? "(not supported)")}");
            WriteCheckpoints(console, model.Path);

            // Plain lines: the console wraps at 80 columns, and provider names and sizes are read (and grepped) whole.
            await output.WriteLineAsync($"backend: {settings.Backend}{(loaded is null ? " (weights not loaded)" : string.Empty)}").ConfigureAwait(false);
            foreach (var line in loaded ?? [])
            {
                await output.WriteLineAsync("  " + line).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }

    /// <summary>Loads the model with an ONNX backend and describes what loaded: each component's provider and shape facts.</summary>
    private static async Task<IReadOnlyList<string>> LoadAsync(string path, BackendSettings settings, CancellationToken cancellationToken)
    {
        using var instance = CliModels.Create(new DirectoryInfo(path), settings);
        await instance.LoadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        var components = instance.Components;
        var decoder = components.LanguageDecoder.Metadata;
        var lines = new List<string>
        {
            string.Create(CultureInfo.InvariantCulture, $"language decoder: {decoder.ProviderName} (vocabulary {decoder.VocabularySize}, context {decoder.ContextLength}, hidden {decoder.HiddenSize})"),
        };
        lines.Add(components.VisionEncoder?.Metadata is { } vision
            ? string.Create(CultureInfo.InvariantCulture, $"vision encoder: {vision.ProviderName} (image {vision.ImageSize}, patch {vision.PatchSize}, {vision.TokensPerView} tokens per view, hidden {vision.OutputHiddenSize})")
            : "vision encoder: (none; text prompts only)");
        return lines;
    }

    /// <summary>Each safetensors checkpoint in the folder and its direct subfolders: tensors, parameters, dtypes
    /// (headers only; a malformed one is reported, not fatal).</summary>
    private static void WriteCheckpoints(IAnsiConsole console, string root)
    {
        var table = new Table().AddColumn("checkpoint").AddColumn(new TableColumn("tensors").RightAligned()).AddColumn(new TableColumn("parameters").RightAligned()).AddColumn("dtypes");
        long totalParameters = 0;
        foreach (var folder in new[] { root }.Concat(Directory.EnumerateDirectories(root).Order(StringComparer.Ordinal)))
        {
            if (!Directory.EnumerateFiles(folder, "*.safetensors").Any())
            {
                continue;
            }

            var name = Path.GetRelativePath(root, folder);
            try
            {
                using var checkpoint = Backends.Managed.SafeTensors.SafeTensorsCheckpoint.Open(folder);
                var infos = checkpoint.Names.Select(checkpoint.GetInfo).ToList();
                var parameters = infos.Sum(i => i.ElementCount);
                totalParameters += parameters;
                var dtypes = string.Join(", ", infos.GroupBy(i => i.DType).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} ×{g.Count()}"));
                table.AddRow(Markup.Escape(name), infos.Count.ToString(CultureInfo.InvariantCulture), parameters.ToString("N0", CultureInfo.InvariantCulture), Markup.Escape(dtypes));
            }
            catch (ModelLoadException e)
            {
                table.AddRow(Markup.Escape(name), "-", "-", Markup.Escape("unreadable: " + e.Message));
            }
        }

        if (table.Rows.Count > 0)
        {
            table.AddRow("[bold]total[/]", string.Empty, totalParameters.ToString("N0", CultureInfo.InvariantCulture), string.Empty);
            console.Write(table);
        }
    }

    private static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("F2", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("F2", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("F1", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
