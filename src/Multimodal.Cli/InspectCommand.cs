// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using System.Globalization;
using Spectre.Console;

namespace Multimodal.Cli;

/// <summary><c>multimodal inspect &lt;folder&gt;</c>: describes a model folder (config, files, sizes) without loading weights.</summary>
internal static class InspectCommand
{
    public static Command Create(TextWriter output)
    {
        var folder = new Argument<DirectoryInfo>("folder") { Description = "A model folder in Hugging Face layout (it contains config.json)." };
        var command = new Command("inspect", "Describe a model folder: model type, architectures and files, without loading weights.") { folder };
        command.SetAction((parse, _) =>
        {
            var model = ModelFolder.Open(parse.GetRequiredValue(folder).FullName);
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
            return Task.FromResult(0);
        });
        return command;
    }

    private static string FormatSize(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("F2", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("F2", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("F1", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
