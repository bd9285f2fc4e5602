// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Multimodal.Cli;

/// <summary><c>multimodal ask --model &lt;folder&gt; [--image F]... [--pdf F [--pages 1-9]] [--video F [--frames N]]
/// [--backend managed|onnxruntime|onnxruntime-genai] "prompt"</c>: one question about images, PDF pages or a video; the
/// answer streams to standard output and nothing else does.</summary>
/// <remarks>Progress and timings go to standard error. With <c>--json</c> one JSON object (answer, finish reason, backend,
/// provider, usage, timings) is printed instead of the streamed text.</remarks>
internal static class AskCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var model = CliModels.ModelOption();
        var images = new Option<FileInfo[]>("--image", "-i") { Description = "An image file; repeat for several images (they come before the prompt, in order).", AllowMultipleArgumentsPerToken = false };
        var pdf = new Option<FileInfo?>("--pdf") { Description = "A PDF document whose pages are given to the model." };
        var pages = new Option<string?>("--pages") { Description = "The PDF pages, for example 1-9 or 1,3,5-7 (all pages by default)." };
        var video = new Option<FileInfo?>("--video") { Description = "A video file." };
        var frames = new Option<int?>("--frames") { Description = "How many frames to sample uniformly from the video (default 8)." };
        var maxTokens = new Option<int?>("--max-tokens") { Description = "The most tokens to generate (the family's reference default otherwise)." };
        var temperature = new Option<double?>("--temperature", "-t") { Description = "Sampling temperature; 0 for greedy decoding (the family's reference default otherwise)." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object (answer, backend and provider, usage, timings) instead of streaming the answer." };
        var backend = new BackendOptions(withQuantize: true);
        var prompt = new Argument<string>("prompt") { Description = "The question or instruction." };
        var command = new Command("ask", "Ask a model one question about images, a PDF or a video; the answer streams to standard output.")
        {
            model, images, pdf, pages, video, frames, maxTokens, temperature, json, prompt,
        };
        backend.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var folder = parse.GetRequiredValue(model);
            var contents = new List<AIContent>();
            foreach (var file in parse.GetValue(images) ?? [])
            {
                RequireFile(file, "--image");
                contents.Add(ImageContent.FromFile(file.FullName));
            }

            if (parse.GetValue(pdf) is { } pdfFile)
            {
                RequireFile(pdfFile, "--pdf");
                contents.Add(new PdfContent(MediaSource.FromFile(pdfFile.FullName), parse.GetValue(pages) is { } p ? PageSelection.Parse(p) : null));
            }
            else if (parse.GetValue(pages) is not null)
            {
                throw new ArgumentException("--pages selects pages of a --pdf; give the PDF too.");
            }

            if (parse.GetValue(video) is { } videoFile)
            {
                RequireFile(videoFile, "--video");
                var count = parse.GetValue(frames);
                if (count is <= 0)
                {
                    throw new ArgumentException($"--frames must be at least 1; got {count}.");
                }

                contents.Add(new VideoContent(MediaSource.FromFile(videoFile.FullName), count is { } n ? FrameSampling.Uniform(n) : null));
            }
            else if (parse.GetValue(frames) is not null)
            {
                throw new ArgumentException("--frames samples a --video; give the video too.");
            }

            contents.Add(new TextContent(parse.GetRequiredValue(prompt)));
            var options = GenerationOptionsFrom(parse.GetValue(maxTokens), parse.GetValue(temperature));

            var settings = backend.Read(parse);
            using var instance = CliModels.Create(folder, settings);
            await error.WriteLineAsync($"Loading {folder.FullName} ({settings.Backend}) …").ConfigureAwait(false);
            await instance.LoadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            var message = new ChatMessage(ChatRole.User, contents);
            if (parse.GetValue(json))
            {
                var result = await instance.GenerateAsync([message], options, cancellationToken).ConfigureAwait(false);
                var provider = instance.Components.LanguageDecoder.Metadata.ProviderName;
                await output.WriteLineAsync(JsonSerializer.Serialize(ToJson(result, settings.Backend, provider))).ConfigureAwait(false);
                return 0;
            }

            GenerationUpdate? last = null;
            await foreach (var update in instance.GenerateStreamingAsync([message], options, cancellationToken).ConfigureAwait(false))
            {
                await output.WriteAsync(update.Text).ConfigureAwait(false);
                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                last = update;
            }

            await output.WriteLineAsync().ConfigureAwait(false);
            if (last?.Usage is { } usage && last.Timings is { } timings)
            {
                await error.WriteLineAsync(Summary(usage, timings, last.FinishReason)).ConfigureAwait(false);
            }

            return 0;
        });
        return command;
    }

    /// <summary>Maps the sampling flags onto generation options (temperature 0 means greedy).</summary>
    internal static GenerationOptions? GenerationOptionsFrom(int? maxTokens, double? temperature)
    {
        if (maxTokens is <= 0)
        {
            throw new ArgumentException($"--max-tokens must be at least 1; got {maxTokens}.");
        }

        if (temperature is < 0)
        {
            throw new ArgumentException($"--temperature must be 0 or more; got {temperature}.");
        }

        if (maxTokens is null && temperature is null)
        {
            return null;
        }

        return new GenerationOptions
        {
            MaxNewTokens = maxTokens,
            Temperature = temperature is { } t ? (float)t : null,
            DoSample = temperature is { } s ? s > 0 : null,
        };
    }

    /// <summary>The one-line timing summary written to standard error.</summary>
    internal static string Summary(GenerationUsage usage, GenerationTimings timings, GenerationFinishReason? reason) =>
        string.Create(
            CultureInfo.InvariantCulture,
            $"[{usage.PromptTokens} prompt tokens ({usage.VisualTokens} visual), {usage.CompletionTokens} generated, {reason}; encode {timings.VisionEncode.TotalMilliseconds:F0} ms, first token {timings.TimeToFirstToken.TotalMilliseconds:F0} ms, {timings.DecodeTokensPerSecond:F1} tokens/s]");

    private static object ToJson(GenerationResult result, string backend, string provider) => new
    {
        answer = result.Text,
        finish_reason = result.FinishReason.ToString().ToLowerInvariant(),
        backend,
        provider,
        usage = new
        {
            prompt_tokens = result.Usage.PromptTokens,
            visual_tokens = result.Usage.VisualTokens,
            completion_tokens = result.Usage.CompletionTokens,
            total_tokens = result.Usage.TotalTokens,
        },
        timings = new
        {
            preprocess_ms = result.Timings.Preprocess.TotalMilliseconds,
            vision_encode_ms = result.Timings.VisionEncode.TotalMilliseconds,
            prefill_ms = result.Timings.Prefill.TotalMilliseconds,
            time_to_first_token_ms = result.Timings.TimeToFirstToken.TotalMilliseconds,
            decode_ms = result.Timings.Decode.TotalMilliseconds,
            total_ms = result.Timings.Total.TotalMilliseconds,
            decode_tokens_per_second = result.Timings.DecodeTokensPerSecond,
        },
    };

    /// <summary>Fails with one clear line when an input file named by an option does not exist.</summary>
    internal static void RequireFile(FileInfo file, string option)
    {
        if (!file.Exists)
        {
            throw new FileNotFoundException($"{option}: '{file.FullName}' does not exist.", file.FullName);
        }
    }
}
