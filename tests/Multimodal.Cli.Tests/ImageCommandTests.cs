// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Security.Cryptography;
using System.Text.Json;

namespace Multimodal.Cli;

public sealed class ImageCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mm-cli-img-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Root => Multimodal.Testing.RepositoryPaths.Root;

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await CliApp.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Writes the RGB channels of a committed resize-golden source as a uint8 .npy file.</summary>
    private string RgbSource(string name)
    {
        using var f = File.OpenRead(Path.Combine(Root, "tests", "data", "images", "resize", name + ".npy"));
        var (_, shape, rgba) = NpyFormat.Read(f);
        var rgb = new byte[shape[0] * shape[1] * 3];
        for (var i = 0; i < shape[0] * shape[1]; i++)
        {
            rgba.AsSpan(i * 4, 3).CopyTo(rgb.AsSpan(i * 3));
        }

        var path = Path.Combine(_dir, name + ".npy");
        using var o = File.Create(path);
        NpyFormat.Write(o, rgb, shape[0], shape[1], 3);
        return path;
    }

    [Fact]
    public async Task ImageResize_WritesPillowsPixelsAsNpy()
    {
        // The golden: Pillow's lanczos resize of the 97x89 noise image to 32x29, from eng/images/make_resize_goldens.py.
        var golden = File.ReadLines(Path.Combine(Root, "tests", "data", "images", "resize", "goldens.jsonl"))
            .Select(l => JsonDocument.Parse(l).RootElement)
            .First(g => g.GetProperty("source").GetString() == "noise" && g.GetProperty("mode").GetString() == "RGB" && g.GetProperty("filter").GetString() == "lanczos" && g.GetProperty("box").ValueKind == JsonValueKind.Null && g.GetProperty("width").GetInt32() == 32);
        var output = Path.Combine(_dir, "out.npy");

        var (code, text, error) = await RunAsync("image", "resize", "--image", RgbSource("noise"), "--width", "32", "--height", golden.GetProperty("height").GetInt32().ToString(System.Globalization.CultureInfo.InvariantCulture), "--filter", "lanczos", "--out", output);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        Assert.Contains("97x89 -> 32x", text, StringComparison.Ordinal);
        using var f = File.OpenRead(output);
        var (dtype, shape, data) = NpyFormat.Read(f);
        Assert.Equal("|u1", dtype);
        Assert.Equal([golden.GetProperty("height").GetInt32(), 32, 3], shape);
        Assert.Equal(golden.GetProperty("sha256").GetString(), Convert.ToHexStringLower(SHA256.HashData(data)));
    }

    [Fact]
    public async Task Preprocess_WithAFamily_PrintsTheLayout_AndWritesTheEncoderTensor()
    {
        var output = Path.Combine(_dir, "pixels.npy");
        var (code, text, error) = await RunAsync("preprocess", "--family", "llava", "--image", RgbSource("gradient"), "--out", output);

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        using var summary = JsonDocument.Parse(text);
        var view = Assert.Single(summary.RootElement.GetProperty("views").EnumerateArray());
        Assert.Equal(336, view.GetProperty("width").GetInt32());
        Assert.Equal(576, summary.RootElement.GetProperty("tokens").GetInt32());
        using var f = File.OpenRead(output);
        var (dtype, shape, _) = NpyFormat.Read(f);
        Assert.Equal("<f4", dtype);
        Assert.Equal([1, 3, 336, 336], shape);
    }

    [Fact]
    public async Task Preprocess_DetectsTheFamilyFromAModelFolder_AndReadsItsOptions()
    {
        var model = Directory.CreateDirectory(Path.Combine(_dir, "minicpm")).FullName;
        await File.WriteAllTextAsync(Path.Combine(model, "config.json"), """{"model_type": "minicpmv", "architectures": ["MiniCPMV"]}""");
        await File.WriteAllTextAsync(Path.Combine(model, "preprocessor_config.json"), """{"max_slice_nums": 4}""");

        var (code, text, _) = await RunAsync("preprocess", "--model", model, "--image", RgbSource("wide"));

        Assert.Equal(0, code);
        using var summary = JsonDocument.Parse(text);
        Assert.Equal("minicpmv", summary.RootElement.GetProperty("family").GetString());
        Assert.True(summary.RootElement.GetProperty("views").GetArrayLength() <= 1 + 4);
    }

    [Fact]
    public async Task Preprocess_MiniCpmVModelFolder_SlicesAtItsConfigScaleResolution()
    {
        // models/minicpmv-tiny's config.json: scale_resolution 112, query_num 16 (no preprocessor_config.json), so a
        // 224² scene is a 112² source plus a 2×2 grid of 112² slices, 16 tokens each, as the pipeline sees it.
        var (code, text, error) = await RunAsync(
            "preprocess", "--model", Path.Combine(Root, "models", "minicpmv-tiny"), "--image", Path.Combine(Root, "tests", "data", "eval", "scenes-224", "scene-012.png"));

        Assert.Equal(0, code);
        Assert.Equal(string.Empty, error);
        using var summary = JsonDocument.Parse(text);
        var root = summary.RootElement;
        Assert.Equal((2, 2), (root.GetProperty("grid").GetProperty("rows").GetInt32(), root.GetProperty("grid").GetProperty("columns").GetInt32()));
        var views = root.GetProperty("views").EnumerateArray().ToList();
        Assert.Equal(5, views.Count);
        Assert.All(views, v => Assert.Equal((112, 112, 16), (v.GetProperty("width").GetInt32(), v.GetProperty("height").GetInt32(), v.GetProperty("tokens").GetInt32())));
        Assert.Equal(80, root.GetProperty("tokens").GetInt32());
    }

    [Theory]
    [InlineData("--width", "0")]
    [InlineData("--filter", "sharpest")]
    public async Task BadArguments_AreOneErrorLine(string option, string value)
    {
        string[] args = ["image", "resize", "--image", RgbSource("pixel"), "--width", "4", "--height", "4", "--out", Path.Combine(_dir, "o.npy")];
        var i = Array.IndexOf(args, option);
        if (i >= 0)
        {
            args[i + 1] = value;
        }
        else
        {
            args = [.. args, option, value];
        }

        var (code, _, error) = await RunAsync(args);
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries)), StringComparison.Ordinal);
    }
}
