// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using System.Text.Json;
using Multimodal.Tokenizers;

namespace Multimodal.Cli;

/// <summary>
/// <c>multimodal tokenize --tokenizer &lt;file-or-folder&gt; [--text T | --text-file F] [--no-special-tokens] [--jsonl] [--decode]</c>.
/// </summary>
/// <remarks>
/// Encoding prints the ids of the text as one JSON array; with <c>--jsonl</c> every input line is encoded on its own
/// (without its newline) and printed as one JSON array per line. Decoding reads JSON arrays of ids and prints the text
/// (with <c>--jsonl</c>, one JSON string per input line). Without <c>--text</c> or <c>--text-file</c> the input is read
/// from standard input.
/// </remarks>
internal static class TokenizeCommand
{
    public static Command Create(TextWriter output, Func<TextReader> standardInput)
    {
        var tokenizerOption = new Option<string>("--tokenizer", "-t") { Description = "A tokenizer.json, a SentencePiece .model, or a folder with either.", Required = true };
        var textOption = new Option<string?>("--text") { Description = "The text to encode (or the JSON ids to decode)." };
        var fileOption = new Option<FileInfo?>("--text-file") { Description = "A UTF-8 file to read the input from." };
        var noSpecial = new Option<bool>("--no-special-tokens") { Description = "Encode without the tokenizer's special tokens (no BOS); decode without special tokens." };
        var jsonl = new Option<bool>("--jsonl") { Description = "One input per line: one JSON array (or, with --decode, one JSON string) per output line." };
        var decode = new Option<bool>("--decode") { Description = "Read JSON arrays of ids and print the decoded text." };
        var command = new Command("tokenize", "Encode text to token ids, or decode ids to text, with a model's tokenizer.")
        {
            tokenizerOption, textOption, fileOption, noSpecial, jsonl, decode,
        };

        command.SetAction(async (parse, cancellationToken) =>
        {
            var text = parse.GetValue(textOption);
            var file = parse.GetValue(fileOption);
            if (text is not null && file is not null)
            {
                throw new ArgumentException("Give either --text or --text-file, not both.");
            }

            var tokenizer = Tokenizer.Load(parse.GetRequiredValue(tokenizerOption));
            string input;
            if (text is not null)
            {
                input = text;
            }
            else if (file is not null)
            {
                if (!file.Exists)
                {
                    throw new ArgumentException($"Input file '{file.FullName}' does not exist.");
                }

                input = await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                input = await standardInput().ReadToEndAsync(cancellationToken).ConfigureAwait(false);
            }

            var addSpecial = !parse.GetValue(noSpecial);
            if (parse.GetValue(decode))
            {
                Decode(tokenizer, input, parse.GetValue(jsonl), !addSpecial, output);
            }
            else if (parse.GetValue(jsonl))
            {
                foreach (var line in SplitLines(input))
                {
                    output.WriteLine(JsonSerializer.Serialize(tokenizer.Encode(line, addSpecial)));
                }
            }
            else
            {
                output.WriteLine(JsonSerializer.Serialize(tokenizer.Encode(input, addSpecial)));
            }

            return 0;
        });
        return command;
    }

    private static void Decode(Tokenizer tokenizer, string input, bool jsonl, bool skipSpecial, TextWriter output)
    {
        var lines = jsonl ? SplitLines(input) : [input];
        var lineNumber = 0;
        foreach (var line in lines)
        {
            lineNumber++;
            if (jsonl && line.Length == 0)
            {
                continue;
            }

            int[] ids;
            try
            {
                ids = JsonSerializer.Deserialize<int[]>(line) ?? [];
            }
            catch (JsonException ex)
            {
                throw new FormatException($"Input{(jsonl ? $" line {lineNumber}" : string.Empty)} is not a JSON array of ids: {ex.Message}", ex);
            }

            var text = tokenizer.Decode(ids, skipSpecial);
            output.WriteLine(jsonl ? JsonSerializer.Serialize(text, JsonOptions) : text);
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Splits on \n (and a \r before it), without the final empty line of a file that ends with a newline.</summary>
    private static List<string> SplitLines(string input)
    {
        var lines = input.Split('\n').Select(l => l.EndsWith('\r') ? l[..^1] : l).ToList();
        if (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }

        return lines;
    }
}
