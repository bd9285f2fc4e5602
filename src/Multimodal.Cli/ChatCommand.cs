// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using Microsoft.Extensions.AI;

namespace Multimodal.Cli;

/// <summary><c>multimodal chat --model &lt;folder&gt;</c>: an interactive multi-turn conversation that keeps the KV cache
/// between turns. Commands: <c>/image F</c> attaches an image to the next message, <c>/reset</c> starts over,
/// <c>/exit</c> (or end of input) quits.</summary>
/// <remarks>Replies stream to standard output; prompts, notices and timings go to standard error.</remarks>
internal static class ChatCommand
{
    public static Command Create(TextWriter output, TextWriter error, Func<TextReader> input)
    {
        var model = CliModels.ModelOption();
        var maxTokens = new Option<int?>("--max-tokens") { Description = "The most tokens per reply (the family's reference default otherwise)." };
        var temperature = new Option<double?>("--temperature", "-t") { Description = "Sampling temperature; 0 for greedy decoding." };
        var system = new Option<string?>("--system") { Description = "A system prompt for the conversation (where the family has one)." };
        var backend = new BackendOptions(withQuantize: true);
        var command = new Command("chat", "Chat with a model, turn by turn: /image F attaches an image, /reset starts over, /exit quits.")
        {
            model, maxTokens, temperature, system,
        };
        backend.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var folder = parse.GetRequiredValue(model);
            var options = AskCommand.GenerationOptionsFrom(parse.GetValue(maxTokens), parse.GetValue(temperature));
            var settings = backend.Read(parse);
            using var instance = CliModels.Create(folder, settings);
            await error.WriteLineAsync($"Loading {folder.FullName} ({settings.Backend}) …").ConfigureAwait(false);
            await instance.LoadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            await error.WriteLineAsync("Ready. /image <file> attaches an image to your next message, /reset starts over, /exit quits.").ConfigureAwait(false);
            using var session = instance.CreateChatSession(parse.GetValue(system));
            var pending = new List<AIContent>();
            var reader = input();
            while (true)
            {
                await error.WriteAsync("> ").ConfigureAwait(false);
                var line = await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false);
                if (line is null || line.Trim() == "/exit")
                {
                    return 0;
                }

                line = line.Trim();
                if (line.Length == 0)
                {
                    continue;
                }

                if (line == "/reset")
                {
                    session.Reset();
                    pending.Clear();
                    await error.WriteLineAsync("(conversation cleared)").ConfigureAwait(false);
                    continue;
                }

                if (line.StartsWith("/image", StringComparison.Ordinal))
                {
                    var path = line["/image".Length..].Trim().Trim('"');
                    if (path.Length == 0 || !File.Exists(path))
                    {
                        await error.WriteLineAsync(path.Length == 0 ? "usage: /image <file>" : $"error: '{Path.GetFullPath(path)}' does not exist.").ConfigureAwait(false);
                        continue;
                    }

                    pending.Add(ImageContent.FromFile(Path.GetFullPath(path)));
                    await error.WriteLineAsync($"(image attached to your next message: {Path.GetFileName(path)})").ConfigureAwait(false);
                    continue;
                }

                if (line.StartsWith('/'))
                {
                    await error.WriteLineAsync($"Unknown command '{line.Split(' ')[0]}'. Commands: /image <file>, /reset, /exit.").ConfigureAwait(false);
                    continue;
                }

                var message = new ChatMessage(ChatRole.User, [.. pending, new TextContent(line)]);
                pending.Clear();
                try
                {
                    GenerationUpdate? last = null;
                    await foreach (var update in session.SendStreamingAsync(message, options, cancellationToken).ConfigureAwait(false))
                    {
                        await output.WriteAsync(update.Text).ConfigureAwait(false);
                        await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                        last = update;
                    }

                    await output.WriteLineAsync().ConfigureAwait(false);
                    if (last?.Usage is { } usage && last.Timings is { } timings && session.LastTurn is { } turn)
                    {
                        await error.WriteLineAsync($"{AskCommand.Summary(usage, timings, last.FinishReason)} (reused {turn.ReusedTokens} cached positions)").ConfigureAwait(false);
                    }
                }
                catch (MultimodalException ex)
                {
                    // A bad turn (an unreadable image, one image too many) leaves the conversation usable.
                    await error.WriteLineAsync(CliApp.FormatError(ex)).ConfigureAwait(false);
                }
            }
        });
        return command;
    }
}
