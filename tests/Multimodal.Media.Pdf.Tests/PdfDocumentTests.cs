// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text.RegularExpressions;
using Xunit.Abstractions;

namespace Multimodal.Media.Pdf;

/// <summary>Opening, page sizes, metadata, text and rendering against PyMuPDF 1.21.1's goldens.</summary>
public sealed partial class PdfDocumentTests(ITestOutputHelper output)
{
    [Fact]
    public void PageCountAndSizes_MatchPyMuPDF()
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);

        Assert.Equal(PdfTestData.Golden.GetProperty("pageCount").GetInt32(), pdf.PageCount);
        Assert.Equal(3, pdf.PageCount);
        for (var n = 1; n <= pdf.PageCount; n++)
        {
            var golden = PdfTestData.GoldenPage(n);
            var size = pdf.GetPageSize(n);
            Assert.Equal(golden.GetProperty("widthPoints").GetDouble(), size.Width, 3);
            Assert.Equal(golden.GetProperty("heightPoints").GetDouble(), size.Height, 3);
        }

        Assert.Equal(new PdfPageSize(792, 612), pdf.GetPageSize(3));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void RenderAtZoom2_HasPyMuPDFsSize_AndPsnrOfAtLeast30dB(int pageNumber)
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);
        var golden = PdfTestData.GoldenPixels(pageNumber);

        var frame = pdf.RenderPage(pageNumber, new PdfRenderOptions { Zoom = 2 });

        Assert.Equal(ImagePixelFormat.Rgb24, frame.Format);
        Assert.Equal(PdfTestData.GoldenPage(pageNumber).GetProperty("pixmapWidth").GetInt32(), frame.Width);
        Assert.Equal(PdfTestData.GoldenPage(pageNumber).GetProperty("pixmapHeight").GetInt32(), frame.Height);
        var psnr = PdfTestData.Psnr(frame, golden);
        output.WriteLine($"page {pageNumber}: {frame.Width}x{frame.Height}, PSNR vs PyMuPDF = {psnr:0.00} dB");
        Assert.True(psnr >= 30, $"PSNR {psnr:0.00} dB is below 30 dB on page {pageNumber}.");
    }

    [Fact]
    public void RenderDefaults_AreZoom2OnWhite()
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);

        var frame = pdf.RenderPage(1);

        Assert.Equal((1190, 1684), (frame.Width, frame.Height));
        // The top-left corner is blank page: white, not transparent black.
        Assert.Equal(new byte[] { 255, 255, 255 }, frame.GetRow(0)[..3].ToArray());
        // The blue filled rectangle (320..540 x 200..320 pt) at its centre, (430, 260) pt = (860, 520) px.
        var blue = frame.GetRow(520).Slice(860 * 3, 3).ToArray();
        Assert.Equal(new byte[] { 26, 77, 204 }, blue, new ToleranceComparer(3));
    }

    [Fact]
    public void PixelSizes_FollowPyMuPDFsRoundingRule_AtEveryGoldenZoom()
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);
        foreach (var entry in PdfTestData.Golden.GetProperty("pixmapSizes").EnumerateArray())
        {
            var page = entry.GetProperty("page").GetInt32();
            var zoom = entry.GetProperty("zoom").GetDouble();
            var expected = (entry.GetProperty("width").GetInt32(), entry.GetProperty("height").GetInt32());
            Assert.Equal(expected, pdf.GetPageSize(page).GetPixelSize(zoom));
            if (zoom <= 1.3)
            {
                var frame = pdf.RenderPage(page, new PdfRenderOptions { Zoom = zoom });
                Assert.Equal(expected, (frame.Width, frame.Height));
            }
        }
    }

    [Fact]
    public void PixelExtent_MatchesMuPDFsEpsilonRule()
    {
        // Measured with PyMuPDF 1.21.1 (a new page of that width, get_pixmap() at zoom 1).
        Assert.Equal(100, PdfRenderGeometry.PixelExtent(100.0004, 1));
        Assert.Equal(100, PdfRenderGeometry.PixelExtent(100.0009, 1));
        Assert.Equal(101, PdfRenderGeometry.PixelExtent(100.002, 1));
        Assert.Equal(101, PdfRenderGeometry.PixelExtent(100.4, 1));
        Assert.Equal(100, PdfRenderGeometry.PixelExtent(99.9995, 1));
        Assert.Equal(51, PdfRenderGeometry.PixelExtent(50.5, 1));
        Assert.Equal(1191, PdfRenderGeometry.PixelExtent(595.276, 2));
    }

    [Theory]
    [InlineData(1, 1000, 707, 1000)]
    [InlineData(3, 1000, 1000, 773)]
    [InlineData(1, 5000, 1190, 1684)] // a maximum above the zoom-2 size never enlarges the page
    [InlineData(1, 1684, 1190, 1684)]
    [InlineData(1, 1683, 1190, 1683)]
    public void MaxLongSide_LowersTheZoom_ToFit(int pageNumber, int maxLongSide, int width, int height)
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);

        var frame = pdf.RenderPage(pageNumber, new PdfRenderOptions { Zoom = 2, MaxLongSide = maxLongSide });

        Assert.Equal((width, height), (frame.Width, frame.Height));
        Assert.True(Math.Max(frame.Width, frame.Height) <= maxLongSide);
    }

    [Fact]
    public void Text_ContainsPyMuPDFsWords()
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);
        for (var n = 1; n <= 3; n++)
        {
            var text = pdf.GetText(n);
            var expected = Words().Matches(PdfTestData.GoldenPage(n).GetProperty("text").GetString()!).Select(m => m.Value).ToList();
            var actual = Words().Matches(text).Select(m => m.Value).ToHashSet(StringComparer.Ordinal);
            Assert.NotEmpty(expected);
            Assert.All(expected, w => Assert.Contains(w, actual));
        }

        Assert.Contains("Multimodal quarterly report", pdf.GetText(1), StringComparison.Ordinal);
        Assert.Contains("Invoices are due within thirty days.", pdf.GetText(2), StringComparison.Ordinal);
        Assert.Contains("Landscape letter page", pdf.GetText(3), StringComparison.Ordinal);
    }

    [Fact]
    public void Metadata_IsRead()
    {
        using var pdf = PdfDocument.Open(PdfTestData.MetadataPdf);

        var m = pdf.Metadata;

        Assert.Equal("Annual Report 2023", m.Title);
        Assert.Equal("Ada Lovelace", m.Author);
        Assert.Equal("Finance", m.Subject);
        Assert.Equal("report, finance", m.Keywords);
        Assert.Equal("Multimodal fixture writer", m.Creator);
        Assert.Equal("PyMuPDF 1.21.1", m.Producer);
        Assert.Equal("1.7", m.PdfVersion);
        Assert.Equal(1, m.PageCount);
        Assert.False(m.IsEncrypted);
    }

    [Fact]
    public void Metadata_MatchesPyMuPDF_OnTheMainDocument()
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);
        var golden = PdfTestData.Golden.GetProperty("metadata");

        Assert.Equal(golden.GetProperty("title").GetString(), pdf.Metadata.Title);
        Assert.Equal(golden.GetProperty("author").GetString(), pdf.Metadata.Author);
        Assert.Null(pdf.Metadata.Subject); // PyMuPDF reports "" for a missing entry
        Assert.Equal(golden.GetProperty("creator").GetString(), pdf.Metadata.Creator);
        Assert.Equal(golden.GetProperty("producer").GetString(), pdf.Metadata.Producer);
        Assert.Equal(golden.GetProperty("format").GetString(), "PDF " + pdf.Metadata.PdfVersion);
        Assert.Equal(3, pdf.Metadata.PageCount);
    }

    // Bad input must fail, not hang: the timeout turns a hang into a failure.
    [Fact(Timeout = 30_000)]
    public async Task Encrypted_WithoutPassword_AsksForOne()
    {
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(() => Task.Run(() => PdfDocument.Open(PdfTestData.Encrypted)));

        Assert.Contains("encrypted", ex.Message, StringComparison.Ordinal);
        Assert.Contains("PdfContent.Password", ex.Message, StringComparison.Ordinal);
        Assert.Equal(MediaTypes.Pdf, ex.MediaType);
    }

    // Bad input must fail, not hang: the timeout turns a hang into a failure.
    [Fact(Timeout = 30_000)]
    public async Task Encrypted_WithAWrongPassword_SaysSo()
    {
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(() => Task.Run(() => PdfDocument.Open(PdfTestData.Encrypted, "not-the-password")));

        Assert.Contains("encrypted", ex.Message, StringComparison.Ordinal);
        Assert.Contains("wrong", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("secret")]
    [InlineData("owner-secret")]
    public void Encrypted_WithTheRightPassword_Opens(string password)
    {
        using var pdf = PdfDocument.Open(PdfTestData.Encrypted, password);

        Assert.Equal(1, pdf.PageCount);
        Assert.True(pdf.Metadata.IsEncrypted);
        Assert.Equal("Encrypted", pdf.Metadata.Title);
        Assert.Contains("Confidential", pdf.GetText(1), StringComparison.Ordinal);
        var frame = pdf.RenderPage(1, new PdfRenderOptions { Zoom = 1 });
        // The red filled box (56..300 x 120..220 pt) decrypted and drawn.
        var red = frame.GetRow(170).Slice(178 * 3, 3).ToArray();
        Assert.Equal(new byte[] { 204, 51, 51 }, red, new ToleranceComparer(3));
    }

    // Bad input must fail, not hang: the timeout turns a hang into a failure.
    [Fact(Timeout = 30_000)]
    public async Task Truncated_IsRejectedAsTruncated()
    {
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(() => Task.Run(() => PdfDocument.Open(PdfTestData.Truncated)));

        Assert.Contains("truncated", ex.Message, StringComparison.Ordinal);
        Assert.Contains("%%EOF", ex.Message, StringComparison.Ordinal);
    }

    // Bad input must fail, not hang: the timeout turns a hang into a failure.
    [Fact(Timeout = 30_000)]
    public async Task TextFileNamedPdf_IsRejectedAsNotAPdf()
    {
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(() => Task.Run(() => PdfDocument.Open(PdfTestData.NotAPdf)));

        Assert.Contains("not a PDF", ex.Message, StringComparison.Ordinal);
        Assert.Contains("This is a plain text", ex.Message, StringComparison.Ordinal);
    }

    // Bad input must fail, not hang: the timeout turns a hang into a failure.
    [Fact(Timeout = 30_000)]
    public async Task CorruptBody_IsRejectedAsDamaged_WithPopplersReason()
    {
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(() => Task.Run(() => PdfDocument.Open(PdfTestData.Corrupt)));

        Assert.Contains("damaged", ex.Message, StringComparison.Ordinal);
        Assert.Contains("poppler:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyAndBinaryGarbage_AreRejected()
    {
        Assert.Contains("empty", Assert.Throws<InvalidMediaException>(() => PdfDocument.Open(ReadOnlyMemory<byte>.Empty)).Message, StringComparison.Ordinal);
        var png = File.ReadAllBytes(PdfTestData.Path("text-shapes.p1.png"));
        Assert.Contains("0x89504E47", Assert.Throws<InvalidMediaException>(() => PdfDocument.Open(png)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingFile_IsInvalidMedia()
    {
        var ex = Assert.Throws<InvalidMediaException>(() => PdfDocument.Open(PdfTestData.Path("no-such-file.pdf")));

        Assert.Contains("no-such-file.pdf", ex.Message, StringComparison.Ordinal);
        Assert.IsAssignableFrom<IOException>(ex.InnerException);
    }

    [Fact]
    public void PagesOutOfRange_Throw()
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => pdf.RenderPage(4));
        Assert.Contains("3 pages", ex.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => pdf.GetPageSize(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => pdf.GetText(-1));
    }

    [Fact]
    public void BadOptions_AreRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new PdfRenderOptions { Zoom = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PdfRenderOptions { Zoom = double.NaN });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PdfRenderOptions { MaxLongSide = 0 });
        Assert.Throws<ArgumentOutOfRangeException>(() => new PdfRasterizerOptions { MaxDegreeOfParallelism = 0 });
    }

    [Fact]
    public void OversizedRendering_IsRejectedBeforeAllocating()
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);

        var ex = Assert.Throws<InvalidMediaException>(() => pdf.RenderPage(1, new PdfRenderOptions { Zoom = 100 }));
        Assert.Contains("59500 x 84200", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidMediaException>(() => pdf.RenderPage(1, new PdfRenderOptions { Zoom = 2, MaxPixels = 1_000_000 }));
    }

    [Fact]
    public async Task PathBytesStreamAndSource_OpenTheSameDocument()
    {
        var bytes = await File.ReadAllBytesAsync(PdfTestData.TextShapes);
        using var fromPath = PdfDocument.Open(PdfTestData.TextShapes);
        using var fromBytes = PdfDocument.Open(bytes);
        await using var stream = new MemoryStream(bytes);
        using var fromStream = await PdfDocument.OpenAsync(stream);
        using var fromSource = await PdfDocument.OpenAsync(MediaSource.FromFile(PdfTestData.TextShapes));

        var reference = fromPath.RenderPage(2, new PdfRenderOptions { Zoom = 0.5 });
        foreach (var other in new[] { fromBytes, fromStream, fromSource })
        {
            Assert.Equal(3, other.PageCount);
            Assert.True(PdfTestData.SamePixels(reference, other.RenderPage(2, new PdfRenderOptions { Zoom = 0.5 })));
        }

        Assert.True(stream.CanRead); // the stream is left open
    }

    [Fact]
    public void Disposed_ThrowsObjectDisposed_AndDisposeTwiceIsSafe()
    {
        var pdf = PdfDocument.Open(PdfTestData.TextShapes);
        pdf.Dispose();
        pdf.Dispose();

        Assert.Throws<ObjectDisposedException>(() => pdf.RenderPage(1));
        Assert.Throws<ObjectDisposedException>(() => pdf.GetText(1));
        Assert.Throws<ObjectDisposedException>(() => pdf.Metadata);
    }

    [Fact]
    public async Task ConcurrentCallsOnOneDocument_AreSerialised()
    {
        using var pdf = PdfDocument.Open(PdfTestData.Multipage10);
        var reference = Enumerable.Range(1, 10).Select(n => pdf.RenderPage(n, new PdfRenderOptions { Zoom = 0.5 })).ToArray();

        var frames = await Task.WhenAll(Enumerable.Range(1, 10).Select(n => Task.Run(() => pdf.RenderPage(n, new PdfRenderOptions { Zoom = 0.5 }))));

        for (var i = 0; i < 10; i++)
        {
            Assert.True(PdfTestData.SamePixels(reference[i], frames[i]));
        }
    }

    [GeneratedRegex(@"\w+")]
    private static partial Regex Words();
}

/// <summary>Compares bytes within a tolerance.</summary>
internal sealed class ToleranceComparer(int tolerance) : IEqualityComparer<byte>
{
    public bool Equals(byte x, byte y) => Math.Abs(x - y) <= tolerance;

    public int GetHashCode(byte obj) => 0;
}
