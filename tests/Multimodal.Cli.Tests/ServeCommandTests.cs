// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Multimodal.Testing;

namespace Multimodal.Cli;

/// <summary><c>multimodal serve</c>: in-process on a free port with the bundled tiny model, stopped by cancellation (Ctrl+C); and one line + exit code 1 for bad flags.</summary>
public sealed partial class ServeCommandTests
{
    private static string LlavaTiny => RepositoryPaths.Combine("models", "llava-tiny");

    [Fact]
    public async Task Serve_OnAFreePort_AnswersOpenAIRequests_AndStopsCleanlyOnCancel()
    {
        using var output = new SynchronizedWriter();
        using var error = new SynchronizedWriter();
        using var stop = new CancellationTokenSource();
        var run = CliApp.RunAsync(["serve", "--model", LlavaTiny, "--urls", "http://127.0.0.1:0", "--max-images", "1", "--max-queue", "4"], output, error, stop.Token);
        string baseAddress;
        try
        {
            baseAddress = await WaitForListeningAsync(output, error, run);
            Assert.StartsWith("http://127.0.0.1:", baseAddress, StringComparison.Ordinal);
            Assert.Contains("(models: llava-tiny)", output.ToString(), StringComparison.Ordinal);
            Assert.Contains("Loading ", error.ToString(), StringComparison.Ordinal);
            Assert.Contains("Press Ctrl+C to stop.", error.ToString(), StringComparison.Ordinal);

            using var http = new HttpClient { BaseAddress = new Uri(baseAddress + "/"), Timeout = TimeSpan.FromMinutes(2) };
            using var models = JsonDocument.Parse(await http.GetStringAsync("v1/models"));
            Assert.Equal("llava-tiny", models.RootElement.GetProperty("data")[0].GetProperty("id").GetString());

            var image = "{\"type\": \"image_url\", \"image_url\": {\"url\": \"data:image/png;base64," + Convert.ToBase64String(File.ReadAllBytes(RepositoryPaths.Combine("samples", "red-circle.png"))) + "\"}}";
            var question = "{\"type\": \"text\", \"text\": \"What shape is in the image?\"}";
            using var answer = await PostAsync(http, "{\"model\": \"llava-tiny\", \"temperature\": 0, \"messages\": [{\"role\": \"user\", \"content\": [" + image + ", " + question + "]}]}");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            using (var doc = JsonDocument.Parse(await answer.Content.ReadAsStringAsync()))
            {
                Assert.Equal("A circle.", doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
            }

            // --max-images 1 reached the server's limits.
            using var tooMany = await PostAsync(http, "{\"model\": \"llava-tiny\", \"messages\": [{\"role\": \"user\", \"content\": [" + image + ", " + image + "]}]}");
            Assert.Equal(HttpStatusCode.BadRequest, tooMany.StatusCode);
            Assert.Contains("--max-images", await tooMany.Content.ReadAsStringAsync(), StringComparison.Ordinal);

            using var health = JsonDocument.Parse(await http.GetStringAsync("health"));
            Assert.Equal(4, health.RootElement.GetProperty("models")[0].GetProperty("max_queued_requests").GetInt32());
            Assert.True(health.RootElement.GetProperty("models")[0].GetProperty("loaded").GetBoolean());
        }
        finally
        {
            await stop.CancelAsync();
        }

        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("Stopped.", error.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("error:", error.ToString(), StringComparison.Ordinal);
        using var after = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        await Assert.ThrowsAsync<HttpRequestException>(() => after.GetAsync(baseAddress + "/health"));
    }

    [Theory]
    [InlineData("--max-concurrency", "0", "--max-concurrency must be between 1 and 1024")]
    [InlineData("--max-queue", "-1", "--max-queue must be between 0")]
    [InlineData("--max-images", "-2", "--max-images must be between 0")]
    [InlineData("--max-body-mb", "0", "--max-body-mb must be between 1")]
    [InlineData("--urls", "ftp://127.0.0.1:21", "is not an http URL")]
    [InlineData("--urls", "127.0.0.1:8080", "is not an http URL")]
    [InlineData("--backend", "managed --device cuda", "runs on the CPU only")]
    public async Task Serve_BadFlag_OneLineAndExitCodeOne(string flag, string value, string expected)
    {
        string[] args = ["serve", "--model", LlavaTiny, flag, .. value.Split(' ')];
        var (code, output, error) = await RunAsync(args);
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error:", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_WithoutModel_OneLine()
    {
        var (code, _, error) = await RunAsync(["serve"]);
        Assert.Equal(1, code);
        Assert.Contains("--model", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_FolderThatIsNotAModel_OneLine()
    {
        var dir = Directory.CreateTempSubdirectory("mm-serve-").FullName;
        try
        {
            var (code, output, error) = await RunAsync(["serve", "--model", dir, "--urls", "http://127.0.0.1:0"]);
            Assert.Equal(1, code);
            Assert.Equal(string.Empty, output);
            Assert.Contains("has no config.json", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Serve_TwoFoldersWithOneName_OneLine()
    {
        var (code, _, error) = await RunAsync(["serve", "--model", LlavaTiny, "--model", LlavaTiny + "/", "--urls", "http://127.0.0.1:0"]);
        Assert.Equal(1, code);
        Assert.Contains("Two --model folders are named 'llava-tiny'", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_ListsServeAndItsOptions()
    {
        var (code, output, _) = await RunAsync(["serve", "--help"]);
        Assert.Equal(0, code);
        foreach (var option in new[] { "--model", "--urls", "--max-concurrency", "--max-queue", "--allow-remote-urls", "--max-images", "--max-pdf-pages", "--max-video-frames", "--max-body-mb", "--no-chat-page", "--backend", "--threads" })
        {
            Assert.Contains(option, output, StringComparison.Ordinal);
        }

        (_, output, _) = await RunAsync(["--help"]);
        Assert.Contains("serve", output, StringComparison.Ordinal);
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    private static async Task<HttpResponseMessage> PostAsync(HttpClient http, string json)
    {
        using var content = new StringContent(json, Encoding.UTF8, "application/json");
        return await http.PostAsync("v1/chat/completions", content);
    }

    private static async Task<string> WaitForListeningAsync(SynchronizedWriter output, SynchronizedWriter error, Task<int> run)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (DateTime.UtcNow < deadline)
        {
            if (ListeningLine().Match(output.ToString()) is { Success: true } match)
            {
                return match.Groups[1].Value;
            }

            if (run.IsCompleted)
            {
                Assert.Fail($"serve exited with {await run} before listening: {error}");
            }

            await Task.Delay(50);
        }

        Assert.Fail($"serve did not print 'Listening on': {output} / {error}");
        return null!;
    }

    [GeneratedRegex(@"Listening on (http://\S+)")]
    private static partial Regex ListeningLine();

    /// <summary>A string writer that the verb writes on one thread while the test reads on another.</summary>
    private sealed class SynchronizedWriter : TextWriter
    {
        private readonly StringBuilder _text = new();
        private readonly Lock _lock = new();

        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value)
        {
            lock (_lock)
            {
                _text.Append(value);
            }
        }

        public override void Write(string? value)
        {
            lock (_lock)
            {
                _text.Append(value);
            }
        }

        public override void Write(char[] buffer, int index, int count)
        {
            lock (_lock)
            {
                _text.Append(buffer, index, count);
            }
        }

        public override string ToString()
        {
            lock (_lock)
            {
                return _text.ToString();
            }
        }
    }
}
