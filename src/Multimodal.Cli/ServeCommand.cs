// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Multimodal.Server;

namespace Multimodal.Cli;

/// <summary><c>multimodal serve --model &lt;folder&gt; [--model &lt;folder&gt;]... [--urls http://127.0.0.1:8080]
/// [--backend …] [--max-concurrency N] [--max-queue N] [--allow-remote-urls] [--max-images N] …</c>: serves models
/// over the OpenAI chat completions API, with the web chat page at <c>/</c>, until Ctrl+C or SIGTERM.</summary>
/// <remarks>
/// Models are loaded before the server listens, so the first request does not pay for it. Each is served under its
/// folder name. The listening addresses go to standard output (<c>Listening on http://…</c>); progress, warnings and
/// errors of the server go to standard error (information too with <c>--verbose</c>). It listens on the loopback
/// interface unless <c>--urls</c> says otherwise. The media flags set the server's limits and the models' own, so that
/// the pages of a PDF sent without a page selection are held to <c>--max-pdf-pages</c> as well.
/// </remarks>
internal static class ServeCommand
{
    public static Command Create(TextWriter output, TextWriter error)
    {
        var models = new Option<DirectoryInfo[]>("--model", "-m")
        {
            Description = "A model folder (Hugging Face layout); repeat to serve several. Each is served under its folder name.",
            Required = true,
            AllowMultipleArgumentsPerToken = false,
        };
        var urls = new Option<string>("--urls")
        {
            Description = $"Where to listen, separated by ';' (default {MultimodalServerOptions.DefaultUrl}: this machine only). Port 0 picks a free port; http://0.0.0.0:8080 listens on every interface.",
            DefaultValueFactory = _ => MultimodalServerOptions.DefaultUrl,
            HelpName = "URL[;URL]",
        };
        var maxConcurrency = new Option<int?>("--max-concurrency")
        {
            Description = "Requests per model generating at once (default: the model's own limit, 1 on CPU). The others wait in the queue.",
            HelpName = "N",
        };
        var maxQueue = new Option<int?>("--max-queue")
        {
            Description = "Requests per model waiting for a slot (default 32); more get 429 Too Many Requests with Retry-After.",
            HelpName = "N",
        };
        var allowRemote = new Option<bool>("--allow-remote-urls")
        {
            Description = "Download http(s) image and video URLs (off by default: only base64 data: URLs). Lets clients make the server fetch any address it can reach.",
        };
        var maxImages = new Option<int?>("--max-images") { Description = "The most images one request may carry (default 16).", HelpName = "N" };
        var maxPages = new Option<int?>("--max-pdf-pages") { Description = "The most PDF pages one request may select (default 64).", HelpName = "N" };
        var maxFrames = new Option<int?>("--max-video-frames") { Description = "The most video frames one request may sample (default 256).", HelpName = "N" };
        var maxBody = new Option<int?>("--max-body-mb") { Description = "The largest request body in MiB (default 64); larger bodies get 413.", HelpName = "MB" };
        var noChatPage = new Option<bool>("--no-chat-page") { Description = "Do not serve the web chat page at /." };
        var backend = new BackendOptions(withQuantize: true);
        var command = new Command("serve", "Serve models over the OpenAI chat completions API (POST /v1/chat/completions), with a web chat page, until Ctrl+C.")
        {
            models, urls, maxConcurrency, maxQueue, allowRemote, maxImages, maxPages, maxFrames, maxBody, noChatPage,
        };
        backend.AddTo(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var settings = new ServeSettings(
                [.. (parse.GetValue(urls) ?? MultimodalServerOptions.DefaultUrl).Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
                parse.GetValue(maxConcurrency),
                parse.GetValue(maxQueue),
                parse.GetValue(allowRemote),
                parse.GetValue(maxImages),
                parse.GetValue(maxPages),
                parse.GetValue(maxFrames),
                parse.GetValue(maxBody),
                !parse.GetValue(noChatPage));
            settings.Validate();
            var folders = parse.GetRequiredValue(models);
            var verbose = parse.GetValue(CliApp.Verbose);
            return await RunAsync(folders, backend.Read(parse), settings, verbose, output, error, cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(DirectoryInfo[] folders, BackendSettings backend, ServeSettings settings, bool verbose, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        var instances = new List<MultimodalModel>();
        try
        {
            foreach (var folder in folders)
            {
                var model = CliModels.Create(folder, backend, settings.ApplyTo);
                instances.Add(model);
                if (instances.Count(m => m.ModelId == model.ModelId) > 1)
                {
                    throw new ArgumentException($"Two --model folders are named '{model.ModelId}'; models are served under their folder names, which must differ.");
                }

            }

            foreach (var (model, folder) in instances.Zip(folders))
            {
                await error.WriteLineAsync($"Loading {folder.FullName} ({backend.Backend}) …").ConfigureAwait(false);
                await model.LoadAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            var server = await MultimodalServer.StartAsync(
                settings.Urls,
                s =>
                {
                    foreach (var model in instances)
                    {
                        s.AddModel(model);
                    }

                    s.Configure(settings.ApplyTo);
                    s.Services.AddLogging(logging => logging
                        .SetMinimumLevel(verbose ? LogLevel.Information : LogLevel.Warning)
                        .AddProvider(new WriterLoggerProvider(error)));
                },
                cancellationToken).ConfigureAwait(false);
            await using (server.ConfigureAwait(false))
            {
                var ids = string.Join(", ", instances.Select(m => m.ModelId));
                foreach (var address in server.Addresses)
                {
                    await output.WriteLineAsync($"Listening on {address.ToString().TrimEnd('/')} (models: {ids})").ConfigureAwait(false);
                }

                await output.FlushAsync(cancellationToken).ConfigureAwait(false);
                var api = new Uri(server.BaseAddress, "v1");
                await error.WriteLineAsync($"OpenAI-compatible API at {api}{(settings.ChatPage ? $", chat page at {server.BaseAddress}" : string.Empty)}. Press Ctrl+C to stop.").ConfigureAwait(false);
                try
                {
                    await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    // Ctrl+C or SIGTERM: stop below, cancelling what is still generating.
                }

                await error.WriteLineAsync("Stopping …").ConfigureAwait(false);
            }

            await error.WriteLineAsync("Stopped.").ConfigureAwait(false);
            return 0;
        }
        finally
        {
            foreach (var model in instances)
            {
                model.Dispose();
            }
        }
    }

    /// <summary>The server flags, checked before any model is read.</summary>
    private sealed record ServeSettings(
        string[] Urls,
        int? MaxConcurrency,
        int? MaxQueue,
        bool AllowRemoteUrls,
        int? MaxImages,
        int? MaxPdfPages,
        int? MaxVideoFrames,
        int? MaxBodyMegabytes,
        bool ChatPage)
    {
        /// <exception cref="ArgumentException">A flag is out of range, or a URL is not an http URL.</exception>
        public void Validate()
        {
            if (Urls.Length == 0)
            {
                throw new ArgumentException("--urls needs at least one URL, for example http://127.0.0.1:8080.");
            }

            foreach (var url in Urls)
            {
                if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
                {
                    throw new ArgumentException($"--urls: '{url}' is not an http URL such as http://127.0.0.1:8080.");
                }
            }

            Require(MaxConcurrency, "--max-concurrency", 1, 1024);
            Require(MaxQueue, "--max-queue", 0, 1_000_000);
            Require(MaxImages, "--max-images", 0, 4096);
            Require(MaxPdfPages, "--max-pdf-pages", 0, 100_000);
            Require(MaxVideoFrames, "--max-video-frames", 0, 1_000_000);
            Require(MaxBodyMegabytes, "--max-body-mb", 1, 1024);
        }

        /// <summary>Sets the server's options from the flags.</summary>
        public void ApplyTo(MultimodalServerOptions o)
        {
            o.MaxConcurrentRequestsPerModel = MaxConcurrency ?? o.MaxConcurrentRequestsPerModel;
            o.MaxQueuedRequestsPerModel = MaxQueue ?? o.MaxQueuedRequestsPerModel;
            o.AllowRemoteMediaUrls = AllowRemoteUrls;
            o.MaxImagesPerRequest = MaxImages ?? o.MaxImagesPerRequest;
            o.MaxPdfPagesPerRequest = MaxPdfPages ?? o.MaxPdfPagesPerRequest;
            o.MaxVideoFramesPerRequest = MaxVideoFrames ?? o.MaxVideoFramesPerRequest;
            o.MaxRequestBodyBytes = MaxBodyMegabytes is { } mb ? mb * 1024L * 1024 : o.MaxRequestBodyBytes;
            o.EnableChatPage = ChatPage;
        }

        /// <summary>Sets a model's own concurrency and media limits from the flags (the model counts the pages of open-ended PDF
        /// selections), so that the server's per-model concurrency is what the model itself allows.</summary>
        public void ApplyTo(MultimodalModelOptions o)
        {
            o.MaxConcurrentRequests = MaxConcurrency ?? o.MaxConcurrentRequests;
            o.MaxImagesPerRequest = MaxImages ?? o.MaxImagesPerRequest;
            o.MaxPdfPagesPerRequest = MaxPdfPages ?? o.MaxPdfPagesPerRequest;
            o.MaxVideoFramesPerRequest = MaxVideoFrames ?? o.MaxVideoFramesPerRequest;
        }

        private static void Require(int? value, string flag, int min, int max)
        {
            if (value is { } v && (v < min || v > max))
            {
                throw new ArgumentException($"{flag} must be between {min} and {max}; got {v}.");
            }
        }
    }

    /// <summary>Writes the server's log as one line per event to standard error.</summary>
    private sealed class WriterLoggerProvider(TextWriter writer) : ILoggerProvider
    {
        private readonly Lock _lock = new();

        public ILogger CreateLogger(string categoryName) => new WriterLogger(this, categoryName);

        public void Dispose()
        {
        }

        private void Write(string line)
        {
            lock (_lock)
            {
                writer.WriteLine(line);
            }
        }

        private sealed class WriterLogger(WriterLoggerProvider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (!IsEnabled(logLevel))
                {
                    return;
                }

                var level = logLevel switch
                {
                    LogLevel.Critical => "crit",
                    LogLevel.Error => "fail",
                    LogLevel.Warning => "warn",
                    LogLevel.Information => "info",
                    _ => "dbug",
                };
                var name = category[(category.LastIndexOf('.') + 1)..];
                var line = $"{level}: {name}: {formatter(state, exception)}".ReplaceLineEndings(" ");
                provider.Write(exception is null ? line : $"{line} ({exception.GetType().Name}: {exception.Message.ReplaceLineEndings(" ")})");
            }
        }
    }
}
