// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Testing;

namespace Multimodal.Cli;

/// <summary><c>multimodal ask</c> and <c>chat</c>: answers on the bundled tiny model, and one line + exit code 1 for every bad input.</summary>
public sealed class AskChatCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-ask-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string LlavaTiny => RepositoryPaths.Combine("models", "llava-tiny");

    private static string Sample => RepositoryPaths.Combine("samples", "red-circle.png");

    private static async Task<(int Code, string Out, string Err)> RunAsync(string? input, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var reader = new StringReader(input ?? string.Empty);
        var code = await CliApp.RunAsync(args, output, error, default, reader);
        return (code, output.ToString(), error.ToString());
    }

    private static void AssertOneErrorLine(int code, string output, string error, string expected)
    {
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, output);
        var lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error:", StringComparison.Ordinal)).ToList();
        Assert.Single(lines);
        Assert.Contains(expected, lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ask_AnswersTheDemoQuestion_OnStandardOutputOnly()
    {
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "--image", Sample, "--temperature", "0", "What shape is in the image?");
        Assert.True(code == 0, error);
        Assert.Equal("A circle.", output.Trim());
        Assert.Contains("prompt tokens", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1, "There is one shape: a red circle at the centre.")]
    [InlineData(2, "There is one shape: a blue star at the top right.")]
    [InlineData(3, "There are three shapes: a green square at the top left, a yellow triangle at the top right, a blue circle at the bottom.")]
    public async Task Ask_Pdf_TheTinyAriaDescribesThePageAsked(int page, string description)
    {
        // samples/shapes.pdf holds the three sample scenes as pages (eng/train/make_samples.py prints their descriptions);
        // Aria reads all three pages, each split into its whole and a 2×2 grid, and answers about the one asked.
        var (code, output, error) = await RunAsync(
            null, "ask", "--model", RepositoryPaths.Combine("models", "aria-tiny"), "--pdf", RepositoryPaths.Combine("samples", "shapes.pdf"),
            "--temperature", "0", $"What is on page {page}?");
        Assert.True(code == 0, error);
        Assert.Equal(description, output.Trim());
    }

    [Fact]
    public async Task Ask_Json_PrintsOneObjectWithAnswerUsageAndTimings()
    {
        var (code, output, _) = await RunAsync(null, "ask", "--model", LlavaTiny, "--image", Sample, "--temperature", "0", "--json", "What colour is the shape?");
        Assert.Equal(0, code);
        using var doc = System.Text.Json.JsonDocument.Parse(output);
        Assert.Equal("Red.", doc.RootElement.GetProperty("answer").GetString());
        Assert.Equal(64, doc.RootElement.GetProperty("usage").GetProperty("visual_tokens").GetInt32());
        Assert.True(doc.RootElement.GetProperty("timings").GetProperty("total_ms").GetDouble() > 0);
    }

    [Fact]
    public async Task Ask_FolderThatIsNotAModel_OneLine()
    {
        var (code, output, error) = await RunAsync(null, "ask", "--model", _dir, "Hello?");
        AssertOneErrorLine(code, output, error, "has no config.json");
    }

    [Fact]
    public async Task Ask_UnknownFamily_OneLineNamingTheInstalledFamilies()
    {
        File.WriteAllText(Path.Combine(_dir, "config.json"), """{"model_type": "bert", "architectures": ["BertModel"]}""");
        var (code, output, error) = await RunAsync(null, "ask", "--model", _dir, "Hello?");
        AssertOneErrorLine(code, output, error, "model_type 'bert'");
        Assert.Contains("llava", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ask_MissingImage_OneLine()
    {
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "--image", Path.Combine(_dir, "nope.png"), "Hi");
        AssertOneErrorLine(code, output, error, "does not exist");
    }

    [Fact]
    public async Task Ask_CorruptImage_OneLine()
    {
        var bad = Path.Combine(_dir, "bad.png");
        File.WriteAllBytes(bad, [0x89, 0x50, 0x4E, 0x47, 1, 2, 3]);
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, "--image", bad, "What shape is in the image?");
        AssertOneErrorLine(code, output, error, "bad.png");
    }

    [Fact]
    public async Task Ask_MoreImagesThanTheFamilyAllows_OneLine()
    {
        // MiniCPM-V 2 takes one image per conversation, as the reference chat() does.
        var (code, output, error) = await RunAsync(
            null, "ask", "--model", RepositoryPaths.Combine("models", "minicpmv-tiny"), "--image", Sample,
            "--image", RepositoryPaths.Combine("samples", "blue-star.png"), "Are these the same?");
        AssertOneErrorLine(code, output, error, "MiniCPM-V 2 takes one image per conversation; the request has 2");
    }

    [Fact]
    public async Task Ask_PromptOverTheContextLength_OneLine()
    {
        var prompt = string.Join(' ', Enumerable.Repeat("shape", 3000));
        var (code, output, error) = await RunAsync(null, "ask", "--model", LlavaTiny, prompt);
        AssertOneErrorLine(code, output, error, "context");
    }

    [Fact]
    public async Task Chat_SecondTurnReusesTheCache_AndResetClears()
    {
        var input = $"/image {Sample}\nWhat shape is in the image?\nWhat colour is the shape?\n/reset\n/exit\n";
        var (code, output, error) = await RunAsync(input, "chat", "--model", LlavaTiny, "--temperature", "0");
        Assert.True(code == 0, error);
        var replies = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["A circle.", "Red."], replies.Select(r => r.Trim()));
        Assert.Contains("(conversation cleared)", error, StringComparison.Ordinal);
        Assert.Matches(@"reused [1-9][0-9]* cached positions", error);
    }
}
