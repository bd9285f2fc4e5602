// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using BenchmarkDotNet.Attributes;
using Multimodal.Media.Pdf;
using Multimodal.Preprocessing;

namespace Multimodal.Benchmarks;

/// <summary>
/// Rendering PDF pages at 2× (144 dpi, Aria's recipe) to RGB pixels, against PyMuPDF 1.21.1 in the same run: a Python
/// process keeps the same document open and times only <c>page.get_pixmap(matrix=fitz.Matrix(2, 2))</c> followed by
/// <c>Image.frombytes("RGB", …)</c> (eng/media/bench_pdf_server.py). Ours is poppler-glib + cairo through
/// <see cref="PdfDocument.RenderPage"/>. With <c>Pipeline = render+aria</c> both sides also run Aria's preprocessing
/// (split_image on, as for PDF pages; 980 px crops, normalised float32), i.e. the time to model-ready tensors. <c>Scope = page</c> renders page 1 of
/// an open document; <c>Scope = document</c> opens the 10-page file from memory and renders every page (ours through
/// <see cref="PdfRasterizer"/>, in parallel, yielded in order; PyMuPDF in a loop).
/// </summary>
[BenchmarkCategory("Pdf")]
public class PdfBenchmarks
{
    private PeerProcess? _python;
    private PdfDocument? _document;
    private byte[] _bytes = [];

    [Params("page", "document")]
    public string Scope { get; set; } = "page";

    [Params("render", "render+aria")]
    public string Pipeline { get; set; } = "render";

    private static readonly Dictionary<string, object?> SplitOn = new() { [ImageSplitOptionKeys.SplitImage] = true };

    private bool Aria => Pipeline == "render+aria";

    [GlobalSetup]
    public void Setup()
    {
        var path = Path.Combine(PeerProcess.RepositoryRoot, "tests", "data", "media", "pdf", "multipage10.pdf");
        _bytes = File.ReadAllBytes(path);
        _document = PdfDocument.Open(_bytes);
        _python = new PeerProcess("/usr/bin/python3", Path.Combine(PeerProcess.RepositoryRoot, "eng", "media", "bench_pdf_server.py"));
        var pages = int.Parse(_python.Ask($"open {path}"), CultureInfo.InvariantCulture);
        if (pages != _document.PageCount)
        {
            throw new InvalidOperationException($"{pages} pages in PyMuPDF, {_document.PageCount} here.");
        }

        // Same output on both sides, or the comparison is meaningless.
        if (Scope == "page")
        {
            var ours = Ours();
            var theirs = PyMuPdf();
            if (ours != theirs)
            {
                throw new InvalidOperationException($"Ours answered {ours}, PyMuPDF {theirs}.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _python?.Dispose();
        _document?.Dispose();
    }

    [Benchmark(Baseline = true, Description = "PyMuPDF get_pixmap(Matrix(2,2)) + Image.frombytes")]
    public string PyMuPdf() =>
        _python!.Ask(Scope == "page" ? $"page 1 {(Aria ? "aria" : "none")}" : $"all {(Aria ? "aria" : "none")}");

    [Benchmark(Description = "poppler-glib + cairo (PdfDocument / PdfRasterizer)")]
    public string Ours()
    {
        if (Scope == "page")
        {
            return Finish(_document!.RenderPage(1, new PdfRenderOptions { Zoom = 2 }));
        }

        var count = 0;
        var enumerator = PdfRasterizer.Shared.RenderPagesAsync(new PdfContent(MediaSource.FromBytes(_bytes, MediaTypes.Pdf)), 2).GetAsyncEnumerator();
        try
        {
            while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult())
            {
                Finish(enumerator.Current.Image);
                count++;
            }
        }
        finally
        {
            enumerator.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        return count.ToString(CultureInfo.InvariantCulture);
    }

    private string Finish(ImageFrame frame) =>
        Aria
            ? AriaImagePreprocessor.Aria.Preprocess(frame, SplitOn).PixelValues.Count.ToString(CultureInfo.InvariantCulture)
            : $"{frame.Width}x{frame.Height}";
}
