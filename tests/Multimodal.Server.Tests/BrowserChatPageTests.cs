// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Multimodal.Testing;
using Xunit.Abstractions;

namespace Multimodal.Server.Tests;

/// <summary>The web chat page in a real browser: Debian's chromium driven by playwright-core (tests/browser/chat-page.mjs)
/// against a real server on the bundled llava-tiny, compared with the model in-process.</summary>
[Collection("llava")]
public sealed class BrowserChatPageTests(LlavaFixture llava, ITestOutputHelper output) : IAsyncLifetime
{
    private const string ShapeQuestion = "What shape is in the image?";
    private const string ChromiumPath = "/usr/bin/chromium";

    private MultimodalServer _server = null!;

    // The model's updates are paced (40 ms apart) so that the page's incremental rendering is observable however fast
    // the tiny model runs; the text is still the model's own.
    public async Task InitializeAsync() => _server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel(llava.Model.ModelId, new PacedChatClient(llava.Model, TimeSpan.FromMilliseconds(40))));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task ChatPage_ImageQuestion_StreamsTheInProcessAnswer_KeepsHistory_AndClears()
    {
        NodeScripts.Require(ChromiumPath, "playwright-core");
        var inProcess = await llava.AskInProcessAsync(ShapeQuestion, ImageContent.FromBytes(TestModels.SampleBytes("red-circle.png"), "image/png"));
        Assert.Equal("A circle.", inProcess.Text);

        var screenshot = RepositoryPaths.Combine("artifacts", "test", "browser", "chat-page.png");
        Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
        File.Delete(screenshot);

        using var result = await NodeScripts.RunAsync(
            "chat-page.mjs",
            [_server.BaseAddress.ToString(), TestModels.Sample("red-circle.png"), ShapeQuestion, screenshot],
            TimeSpan.FromMinutes(4),
            output);
        var root = result.RootElement;

        var turns = root.GetProperty("turns");
        Assert.Equal(2, turns.GetArrayLength());
        var first = turns[0];
        Assert.Equal(inProcess.Text, first.GetProperty("answer").GetString());
        Assert.True(first.GetProperty("streamingObserved").GetBoolean(), $"The answer did not appear incrementally; text lengths seen: {first.GetProperty("lengths")}");
        Assert.True(first.GetProperty("sendDisabledWhileStreaming").GetBoolean(), "Send stayed enabled while the answer streamed.");
        Assert.StartsWith("Done", first.GetProperty("status").GetString(), StringComparison.Ordinal);
        Assert.Contains("token", first.GetProperty("status").GetString(), StringComparison.Ordinal);

        // The follow-up went out with the whole history (the script checks the image and the first answer were resent).
        var second = turns[1];
        Assert.False(string.IsNullOrWhiteSpace(second.GetProperty("answer").GetString()), "The second turn got no answer.");

        var afterClear = root.GetProperty("afterClear");
        Assert.Equal(0, afterClear.GetProperty("messages").GetInt32());
        Assert.Equal(0, afterClear.GetProperty("attachments").GetInt32());
        Assert.Equal(1, afterClear.GetProperty("nextRequestMessages").GetInt32());

        var parameters = root.GetProperty("requestParameters");
        Assert.Equal(0, parameters.GetProperty("temperature").GetDouble());
        Assert.True(parameters.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());

        Assert.True(File.Exists(screenshot), $"No screenshot at {screenshot}.");
        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.True(png.Length > 1000 && png.AsSpan(0, 8).SequenceEqual(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }), "The screenshot is not a PNG.");
        output.WriteLine($"Screenshot: {screenshot}");
    }
}

/// <summary>Runs the Node.js scripts of tests/browser (real JavaScript clients) with <c>node</c> from PATH and the packages
/// eng/bootstrap.sh installs into .tools/npm.</summary>
internal static class NodeScripts
{
    private const string BootstrapHint = "run eng/bootstrap.sh, which installs them";

    /// <summary>Fails (never skips) when a browser or an npm package the scripts need is missing.</summary>
    public static void Require(string? browserPath, params string[] npmPackages)
    {
        var missing = new List<string>();
        if (browserPath is not null && !File.Exists(browserPath))
        {
            missing.Add($"chromium ({browserPath})");
        }

        foreach (var package in npmPackages)
        {
            var packageJson = RepositoryPaths.Combine(".tools", "npm", "node_modules", package, "package.json");
            if (!File.Exists(packageJson))
            {
                missing.Add($"the npm package {package} ({Path.GetDirectoryName(packageJson)})");
            }
        }

        if (missing.Count > 0)
        {
            Assert.Fail($"Missing {string.Join(" and ", missing)}: {BootstrapHint}.");
        }
    }

    /// <summary>Runs <c>node tests/browser/<paramref name="script"/></c>, kills its whole process tree if it outlives
    /// <paramref name="timeout"/>, asserts it succeeded and returns the JSON line it printed last.</summary>
    public static async Task<JsonDocument> RunAsync(string script, IReadOnlyList<string> arguments, TimeSpan timeout, ITestOutputHelper output)
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryPaths.Root,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(RepositoryPaths.Combine("tests", "browser", script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = new Process { StartInfo = start };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            Assert.Fail($"Cannot start node ({ex.Message}): Node.js must be on PATH; {BootstrapHint}.");
        }

        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using (var timer = new CancellationTokenSource(timeout))
        {
            try
            {
                await process.WaitForExitAsync(timer.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
                Assert.Fail($"node {script} did not finish within {timeout.TotalSeconds:0} s and was killed.\nstdout: {await Drain(stdout)}\nstderr: {await Drain(stderr)}");
            }
        }

        var outText = await Drain(stdout);
        var errText = await Drain(stderr);
        output.WriteLine($"node {script} exited with {process.ExitCode}");
        output.WriteLine(outText);
        if (errText.Length > 0)
        {
            output.WriteLine("stderr: " + errText);
        }

        var line = outText.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault(l => l.StartsWith('{'));
        Assert.True(line is not null, $"node {script} printed no JSON result (exit code {process.ExitCode}).\nstdout: {outText}\nstderr: {errText}");
        var json = JsonDocument.Parse(line);
        if (process.ExitCode != 0 || !json.RootElement.TryGetProperty("ok", out var ok) || !ok.GetBoolean())
        {
            json.Dispose();
            Assert.Fail($"node {script} failed (exit code {process.ExitCode}): {line}\nstderr: {errText}");
        }

        return json;
    }

    /// <summary>Waits a bounded time for a redirected stream to end: a leftover grandchild holding the pipe must not hang the test.</summary>
    private static async Task<string> Drain(Task<string> read)
    {
        try
        {
            return await read.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            return "(the output did not end)";
        }
    }
}

/// <summary>Passes a chat client's streamed updates on with a pause before each one.</summary>
internal sealed class PacedChatClient(IChatClient inner, TimeSpan pause) : DelegatingChatClient(inner)
{
    public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await foreach (var update in base.GetStreamingResponseAsync(messages, options, cancellationToken))
        {
            await Task.Delay(pause, cancellationToken);
            yield return update;
        }
    }
}
