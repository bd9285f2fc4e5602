// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.Json;
using Multimodal.Media.Images;
using Multimodal.Testing;

namespace Multimodal.Media.Pdf;

/// <summary>The fixtures and PyMuPDF goldens written by eng/media/make_pdf_fixtures.py.</summary>
internal static class PdfTestData
{
    public static string Folder { get; } = RepositoryPaths.Combine("tests", "data", "media", "pdf");

    public static string TextShapes => Path("text-shapes.pdf");

    public static string Multipage10 => Path("multipage10.pdf");

    public static string Encrypted => Path("encrypted.pdf");

    public static string Truncated => Path("truncated.pdf");

    public static string Corrupt => Path("corrupt.pdf");

    public static string NotAPdf => Path("not-a-pdf.pdf");

    public static string MetadataPdf => Path("metadata.pdf");

    public static JsonElement Golden { get; } = JsonDocument.Parse(File.ReadAllText(Path("text-shapes.json"))).RootElement;

    public static string Path(string name) => System.IO.Path.Combine(Folder, name);

    public static JsonElement GoldenPage(int pageNumber) => Golden.GetProperty("pages")[pageNumber - 1];

    public static ImageFrame GoldenPixels(int pageNumber) =>
        ImageDecoder.Shared.Decode(File.ReadAllBytes(Path(GoldenPage(pageNumber).GetProperty("png").GetString()!)));

    /// <summary>Peak signal-to-noise ratio of two RGB frames of the same size, in dB (infinity when identical).</summary>
    public static double Psnr(ImageFrame a, ImageFrame b)
    {
        Assert.Equal((a.Width, a.Height, a.Format), (b.Width, b.Height, b.Format));
        double sum = 0;
        long count = 0;
        for (var y = 0; y < a.Height; y++)
        {
            var ra = a.GetRow(y);
            var rb = b.GetRow(y);
            for (var i = 0; i < ra.Length; i++)
            {
                var d = ra[i] - rb[i];
                sum += d * d;
            }

            count += ra.Length;
        }

        var mse = sum / count;
        return mse == 0 ? double.PositiveInfinity : 10 * Math.Log10(255.0 * 255.0 / mse);
    }

    /// <summary>Whether two frames hold identical pixels.</summary>
    public static bool SamePixels(ImageFrame a, ImageFrame b) =>
        a.Width == b.Width && a.Height == b.Height && a.Format == b.Format && a.Pixels.Span.SequenceEqual(b.Pixels.Span);

    public static async Task<List<RenderedPage>> CollectAsync(IAsyncEnumerable<RenderedPage> pages)
    {
        var list = new List<RenderedPage>();
        await foreach (var page in pages)
        {
            list.Add(page);
        }

        return list;
    }
}

/// <summary>Tests that count process-wide native objects or memory run alone, not beside other test classes.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class NativeResourceCollection
{
    public const string Name = "native resources";
}
