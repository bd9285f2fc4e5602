// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Cli;

public sealed class CliAppTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task Version_PrintsTheInformationalVersion()
    {
        var (code, output, error) = await RunAsync("--version");
        Assert.Equal(0, code);
        Assert.StartsWith("0.1.0", output.Trim(), StringComparison.Ordinal);
        Assert.Equal(string.Empty, error);
    }

    [Theory]
    [InlineData("--help")]
    [InlineData()]
    public async Task Help_ListsTheVerbsAndOptions(params string[] args)
    {
        var (code, output, _) = await RunAsync(args);
        Assert.Equal(0, code);
        Assert.Contains("inspect", output, StringComparison.Ordinal);
        Assert.Contains("--verbose", output, StringComparison.Ordinal);
        Assert.Contains("--version", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailingVerb_PrintsOneErrorLine_WithoutAStackTrace_AndExitsWithOne()
    {
        var (code, output, error) = await RunAsync("inspect", Path.Combine(_dir, "missing"));
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: Model folder", line, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verbose_AddsTheStackTrace()
    {
        var (code, _, error) = await RunAsync("inspect", Path.Combine(_dir, "missing"), "--verbose");
        Assert.Equal(1, code);
        Assert.StartsWith("error: Model folder", error, StringComparison.Ordinal);
        Assert.Contains("Multimodal.ModelLoadException", error, StringComparison.Ordinal);
        Assert.Contains(" at Multimodal.ModelFolder.Open", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("frobnicate")]
    [InlineData("inspect")]
    [InlineData("--nonsense")]
    public async Task ParseErrors_AreOneLine_AndExitWithOne(string arg)
    {
        var (code, output, error) = await RunAsync(arg);
        Assert.Equal(1, code);
        Assert.Equal(string.Empty, output);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line, StringComparison.Ordinal);
        Assert.EndsWith("Run 'multimodal --help' for usage.", line.TrimEnd(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_DescribesAModelFolder()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "config.json"), """{"model_type": "minicpmv", "architectures": ["MiniCPMV"]}""");
        await File.WriteAllBytesAsync(Path.Combine(_dir, "model.safetensors"), new byte[3000]);

        var (code, output, error) = await RunAsync("inspect", _dir);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains("model_type: minicpmv", output, StringComparison.Ordinal);
        Assert.Contains("architectures: MiniCPMV", output, StringComparison.Ordinal);
        Assert.Contains("model.safetensors", output, StringComparison.Ordinal);
        Assert.Contains("2.9 KiB", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Inspect_CountsTensorsAndParametersOfEveryCheckpoint()
    {
        var folder = Multimodal.Testing.RepositoryPaths.Combine("tests", "data", "models", "tiny-auroracap");

        var (code, output, error) = await RunAsync("inspect", "--model", folder);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains("family: auroracap", output, StringComparison.Ordinal);
        Assert.Contains("family (managed backend): auroracap", output, StringComparison.Ordinal);
        Assert.Matches(@"visual_encoder\s+│\s+71\s+│\s+54,336\s+│ BF16 ×71", output);
        Assert.Matches(@"projector\s+│\s+4\s+│\s+6,272\s+│ F32 ×4", output);
        Assert.Matches(@"total\s+│\s+│\s+183,808", output);
    }

    [Fact]
    public async Task AMalformedConfig_IsReportedWithItsLine()
    {
        await File.WriteAllTextAsync(Path.Combine(_dir, "config.json"), "{ nope");
        var (code, _, error) = await RunAsync("inspect", _dir);
        Assert.Equal(1, code);
        Assert.Contains("is not valid JSON (line 1)", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnexpectedExceptions_AreStillOneLine_AndPointToVerbose()
    {
        var line = CliApp.FormatError(new InvalidOperationException("boom\nsecond line"));
        Assert.Equal("error: unexpected InvalidOperationException: boom second line (run with --verbose for details)", line);
    }
}
