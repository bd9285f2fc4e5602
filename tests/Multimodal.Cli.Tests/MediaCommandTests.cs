// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.Json;
using Multimodal.Testing;

namespace Multimodal.Cli;

/// <summary><c>multimodal media info | frames | pages</c> on the committed samples, and <c>ask --pdf</c>/<c>--video</c> end to end.</summary>
public sealed class MediaCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-media-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Pdf => RepositoryPaths.Combine("samples", "shapes.pdf");

    private static string Video => RepositoryPaths.Combine("samples", "moving-star.mp4");

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error, default, new StringReader(string.Empty));
        return (code, output.ToString(), error.ToString());
    }

    private static (int[] Shape, byte[] Data) ReadNpy(string path)
    {
        using var stream = File.OpenRead(path);
        var (dtype, shape, data) = NpyFormat.Read(stream);
        Assert.Equal("|u1", dtype);
        return (shape, data);
    }

    [Fact]
    public async Task Info_Pdf_PrintsPagesSizesAndMetadata()
    {
        var (code, output, error) = await RunAsync("media", "info", "--pdf", Pdf);
        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(3, root.GetProperty("pages").GetInt32());
        Assert.Equal("Shapes", root.GetProperty("title").GetString());
        Assert.False(root.GetProperty("encrypted").GetBoolean());
        var first = root.GetProperty("page_sizes_pt")[0];
        Assert.Equal(56, first.GetProperty("width").GetDouble());
        Assert.Equal(56, first.GetProperty("height").GetDouble());
    }

    [Fact]
    public async Task Info_Video_PrintsDurationFramesRateSizeAndCodec()
    {
        var (code, output, error) = await RunAsync("media", "info", "--video", Video);
        Assert.True(code == 0, error);
        var root = JsonDocument.Parse(output).RootElement;
        Assert.Equal(8, root.GetProperty("frame_count").GetInt32());
        Assert.True(root.GetProperty("frame_count_exact").GetBoolean());
        Assert.Equal(4, root.GetProperty("fps").GetDouble());
        Assert.Equal(2, root.GetProperty("duration").GetDouble());
        Assert.Equal(112, root.GetProperty("width").GetInt32());
        Assert.Equal("h264", root.GetProperty("codec").GetString());
    }

    [Fact]
    public async Task Info_NeedsExactlyOneInput()
    {
        var (code, output, error) = await RunAsync("media", "info", "--pdf", Pdf, "--video", Video);
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains("exactly one of --pdf and --video", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Frames_Count_WritesUniformFramesAndPrintsIndicesAndTimestamps()
    {
        var npy = Path.Combine(_dir, "frames.npy");
        var (code, output, error) = await RunAsync("media", "frames", "--video", Video, "--count", "4", "--out", npy);
        Assert.True(code == 0, error);
        var frames = JsonDocument.Parse(output).RootElement.GetProperty("frames");
        Assert.Equal([0, 2, 4, 7], frames.EnumerateArray().Select(f => f.GetProperty("index").GetInt32()));
        Assert.Equal([0, 0.5, 1, 1.75], frames.EnumerateArray().Select(f => f.GetProperty("timestamp").GetDouble()));
        var (shape, data) = ReadNpy(npy);
        Assert.Equal([4, 112, 112, 3], shape);

        // The sample is lossless: in the last frame (index 7) the red star's centre is at x = 94, y = 56 (make_samples.py).
        var at = (((3 * 112) + 56) * 112 + 94) * 3;
        Assert.True(data[at] > 200 && data[at + 1] < 80, $"expected red at the star's centre, got ({data[at]}, {data[at + 1]}, {data[at + 2]})");
    }

    [Fact]
    public async Task Frames_IndicesAndSize_ScaleInFfmpeg()
    {
        var npy = Path.Combine(_dir, "frames.npy");
        var (code, output, error) = await RunAsync("media", "frames", "--video", Video, "--indices", "5,1", "--size", "56x28", "--out", npy);
        Assert.True(code == 0, error);
        var frames = JsonDocument.Parse(output).RootElement.GetProperty("frames");
        Assert.Equal([1, 5], frames.EnumerateArray().Select(f => f.GetProperty("index").GetInt32()));
        Assert.Equal([2, 28, 56, 3], ReadNpy(npy).Shape);
    }

    [Fact]
    public async Task Frames_IndexOutOfRange_OneLine()
    {
        var (code, output, error) = await RunAsync("media", "frames", "--video", Video, "--indices", "8", "--out", Path.Combine(_dir, "x.npy"));
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains("Frame index 8 is out of range: the video has 8 frames", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pages_RenderSelectedPagesAtZoomTwo_EqualToTheScenes()
    {
        var (code, output, error) = await RunAsync("media", "pages", "--pdf", Pdf, "--pages", "1,3", "--out", _dir);
        Assert.True(code == 0, error);
        var pages = JsonDocument.Parse(output).RootElement.GetProperty("pages");
        Assert.Equal([1, 3], pages.EnumerateArray().Select(p => p.GetProperty("page").GetInt32()));
        var (shape, data) = ReadNpy(Path.Combine(_dir, "page-1.npy"));
        Assert.Equal([112, 112, 3], shape);

        // Page 1 is samples/red-circle.png placed on a 56-point page: at 144 dpi the render is that image again.
        var png = await Multimodal.Media.Images.ImageDecoder.Shared.DecodeAsync(MediaSource.FromFile(RepositoryPaths.Combine("samples", "red-circle.png")));
        var maxDiff = 0;
        for (var i = 0; i < data.Length; i++)
        {
            maxDiff = Math.Max(maxDiff, Math.Abs(data[i] - png.Pixels.Span[i]));
        }

        Assert.True(maxDiff <= 2, $"page 1 differs from the PNG by up to {maxDiff}");
        Assert.False(File.Exists(Path.Combine(_dir, "page-2.npy")));
    }

    [Fact]
    public async Task Pages_MaxSide_BoundsTheLongerSide()
    {
        var (code, output, error) = await RunAsync("media", "pages", "--pdf", Pdf, "--pages", "2", "--max-side", "64", "--out", _dir);
        Assert.True(code == 0, error);
        var page = JsonDocument.Parse(output).RootElement.GetProperty("pages")[0];
        Assert.Equal(64, page.GetProperty("width").GetInt32());
        Assert.Equal(64, page.GetProperty("height").GetInt32());
    }

    [Fact]
    public async Task Pages_NotAPdf_OneLine()
    {
        var fake = Path.Combine(_dir, "notes.pdf");
        File.WriteAllText(fake, "just some text\n");
        var (code, output, error) = await RunAsync("media", "pages", "--pdf", fake, "--out", _dir);
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("PDF", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ask_Pdf_AnswersAboutAPage_OnTheBundledModel()
    {
        var (code, output, error) = await RunAsync("ask", "--model", RepositoryPaths.Combine("models", "llava-tiny"), "--pdf", Pdf, "--pages", "3", "--temperature", "0", "How many shapes are there?");
        Assert.True(code == 0, error);
        Assert.Equal("Three.", output.Trim());
    }

    [Theory]
    [InlineData("Which way does the red star move?", "It moves right.")]
    [InlineData("Describe the video.", "A red star moves right.")]
    public async Task Ask_Video_AnswersAboutTheMotion_OnTheBundledLongVA(string question, string answer)
    {
        // samples/moving-star.mp4: a red star crossing left to right in 8 frames (eng/train/make_samples.py).
        var (code, output, error) = await RunAsync("ask", "--model", RepositoryPaths.Combine("models", "longva-tiny"), "--video", Video, "--temperature", "0", question);
        Assert.True(code == 0, error);
        Assert.Equal(answer, output.Trim());
    }

    [Theory]
    [InlineData("Which way does the red star move?", "It moves right.", null)]
    [InlineData("Describe the video.", "A red star moves right.", null)]
    [InlineData("Describe the video.", "A red star moves right.", 4)]
    [InlineData("Describe the video.", "A red star moves right.", 6)]
    public async Task Ask_Video_AnswersAboutTheMotion_OnTheBundledAuroraCap(string question, string answer, int? frames)
    {
        // The tiny AuroraCap was trained on 4-, 6- and 8-frame videos at token_kept_ratio 0.2 (its family's captioning
        // default); without --frames the CLI samples the reference's 8.
        string[] sampling = frames is { } n ? ["--frames", n.ToString(CultureInfo.InvariantCulture)] : [];
        var (code, output, error) = await RunAsync(["ask", "--model", RepositoryPaths.Combine("models", "auroracap-tiny"), "--video", Video, .. sampling, "--temperature", "0", question]);
        Assert.True(code == 0, error);
        Assert.Equal(answer, output.Trim());
    }

    [Fact]
    public async Task Ask_Video_OnAnImageFamily_OneLineNamingTheVideoFamilies()
    {
        var (code, output, error) = await RunAsync("ask", "--model", RepositoryPaths.Combine("models", "llava-tiny"), "--video", Video, "Describe the video.");
        Assert.Equal(1, code);
        Assert.Empty(output);
        Assert.Contains("use LongVA or AuroraCap for video", error, StringComparison.Ordinal);
    }
}
