// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Multimodal.Media.Pdf;

/// <summary>Page selection, parallel rendering in order, text, zoom and limits through <see cref="IPdfRasterizer"/>.</summary>
public sealed class PdfRasterizerTests(ITestOutputHelper output)
{
    private static PdfContent Content(string path, string? pages = null, double? zoom = null) =>
        new(MediaSource.FromFile(path), pages is null ? null : PageSelection.Parse(pages)) { Zoom = zoom };

    [Fact]
    public async Task ParallelRendering_YieldsPagesInOrder_WithTheSamePixelsAsSequential()
    {
        var parallel = new PdfRasterizer(new PdfRasterizerOptions { MaxDegreeOfParallelism = 4 });
        var sequential = new PdfRasterizer(new PdfRasterizerOptions { MaxDegreeOfParallelism = 1 });

        var a = await PdfTestData.CollectAsync(parallel.RenderPagesAsync(Content(PdfTestData.Multipage10), 1));
        var b = await PdfTestData.CollectAsync(sequential.RenderPagesAsync(Content(PdfTestData.Multipage10), 1));

        Assert.Equal(Enumerable.Range(1, 10), a.Select(p => p.PageNumber));
        Assert.Equal(Enumerable.Range(1, 10), b.Select(p => p.PageNumber));
        for (var i = 0; i < 10; i++)
        {
            Assert.True(PdfTestData.SamePixels(a[i].Image, b[i].Image), $"page {i + 1} differs between parallel and sequential rendering");
        }

        // And each page really is its own page: neighbours differ.
        Assert.False(PdfTestData.SamePixels(a[0].Image, a[1].Image));
    }

    [Fact]
    public async Task ParallelRendering_MatchesPdfDocumentRenderPage()
    {
        using var pdf = PdfDocument.Open(PdfTestData.TextShapes);
        var pages = await PdfTestData.CollectAsync(new PdfRasterizer(new() { MaxDegreeOfParallelism = 3 }).RenderPagesAsync(Content(PdfTestData.TextShapes), 2));

        Assert.Equal(3, pages.Count);
        foreach (var page in pages)
        {
            Assert.True(PdfTestData.SamePixels(pdf.RenderPage(page.PageNumber), page.Image));
        }
    }

    [Fact]
    public async Task PageSelection_IsHonoured_AndYieldedAscending()
    {
        var pages = await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.Multipage10, "9,2,4-6"), 0.5));

        Assert.Equal(new[] { 2, 4, 5, 6, 9 }, pages.Select(p => p.PageNumber));
        Assert.All(pages, p => Assert.Null(p.Text));
    }

    [Fact]
    public async Task APageBeyondTheDocument_IsInvalidMedia_NamingThePageAndTheCount()
    {
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(async () =>
            await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.TextShapes, "2,7-9"), 2)));

        Assert.Contains("Page 7", ex.Message, StringComparison.Ordinal);
        Assert.Contains("3 pages", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("Parameter", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IncludeText_PutsTheTextLayerOnEachPage()
    {
        var rasterizer = new PdfRasterizer(new PdfRasterizerOptions { IncludeText = true });

        var pages = await PdfTestData.CollectAsync(rasterizer.RenderPagesAsync(Content(PdfTestData.Multipage10, "3-5"), 0.5));

        Assert.Equal(3, pages.Count);
        foreach (var page in pages)
        {
            Assert.Contains($"Page {page.PageNumber} of 10", page.Text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ZoomAndMaxLongSide_ComeFromThePart_OrTheDefault()
    {
        var byDefault = await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.TextShapes, "1,3"), 2));
        var byPart = await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.TextShapes, "1,3", zoom: 1), 2));
        var capped = Content(PdfTestData.TextShapes, "1,3");
        capped.MaxLongSide = 800;
        var limited = await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(capped, 2));

        Assert.Equal(new[] { (1190, 1684), (1584, 1224) }, byDefault.Select(p => (p.Image.Width, p.Image.Height)));
        Assert.Equal(new[] { (595, 842), (792, 612) }, byPart.Select(p => (p.Image.Width, p.Image.Height)));
        Assert.Equal(new[] { (566, 800), (800, 619) }, limited.Select(p => (p.Image.Width, p.Image.Height)));
    }

    [Fact]
    public async Task EncryptedParts_UseThePassword()
    {
        var locked = Content(PdfTestData.Encrypted);
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(async () => await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(locked, 1)));
        Assert.Contains("PdfContent.Password", ex.Message, StringComparison.Ordinal);

        var unlocked = Content(PdfTestData.Encrypted);
        unlocked.Password = "secret";
        var pages = await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(unlocked, 1));
        Assert.Single(pages);
        Assert.Equal((595, 842), (pages[0].Image.Width, pages[0].Image.Height));
    }

    [Theory]
    [InlineData("truncated.pdf", "truncated")]
    [InlineData("not-a-pdf.pdf", "not a PDF")]
    [InlineData("corrupt.pdf", "damaged")]
    public async Task BrokenFiles_AreInvalidMedia(string file, string reason)
    {
        var ex = await Assert.ThrowsAsync<InvalidMediaException>(async () =>
            await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.Path(file)), 2)));

        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_StopsBetweenPages()
    {
        using var cts = new CancellationTokenSource();
        var seen = new List<int>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var page in new PdfRasterizer(new() { MaxDegreeOfParallelism = 2 }).RenderPagesAsync(Content(PdfTestData.Multipage10), 0.5, cts.Token))
            {
                seen.Add(page.PageNumber);
                if (page.PageNumber == 3)
                {
                    await cts.CancelAsync();
                }
            }
        });

        Assert.Equal(new[] { 1, 2, 3 }, seen);
    }

    [Fact]
    public async Task ACancelledToken_RendersNothing()
    {
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.Multipage10), 2, cts.Token)));
    }

    [Fact]
    public async Task StreamAndMemorySources_Work()
    {
        var bytes = await File.ReadAllBytesAsync(PdfTestData.Multipage10);
        await using var stream = new MemoryStream(bytes);
        var fromStream = await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(new PdfContent(MediaSource.FromStream(stream), PageSelection.Parse("10")), 0.5));
        var fromMemory = await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(new PdfContent(MediaSource.FromBytes(bytes), PageSelection.Parse("10")), 0.5));

        Assert.Equal(10, Assert.Single(fromStream).PageNumber);
        Assert.True(PdfTestData.SamePixels(fromStream[0].Image, Assert.Single(fromMemory).Image));
    }

    [Fact]
    public void InvalidZoom_IsAnArgumentError()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.TextShapes), 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.TextShapes, zoom: -1), 2));
    }

    [Fact]
    public void ServiceRegistration_AndBuilderExtension()
    {
        var services = new ServiceCollection();
        services.AddMultimodalPdf(o =>
        {
            o.MaxDegreeOfParallelism = 3;
            o.IncludeText = true;
        });
        using var provider = services.BuildServiceProvider();

        var rasterizer = Assert.IsType<PdfRasterizer>(provider.GetRequiredService<IPdfRasterizer>());
        Assert.Same(rasterizer, provider.GetRequiredService<PdfRasterizer>());
        Assert.Equal(3, rasterizer.MaxDegreeOfParallelism);
        Assert.True(rasterizer.IncludeText);
        Assert.Same(rasterizer, ((IPdfRasterizer)rasterizer).GetService(typeof(IPdfRasterizer)));
        Assert.Equal(3, Assert.IsType<PdfRasterizerOptions>(rasterizer.GetService(typeof(PdfRasterizerOptions))).MaxDegreeOfParallelism);

        var builder = new MultimodalModelBuilder();
        Assert.Same(builder, builder.UsePdf());
        Assert.Equal(PdfRasterizerOptions.DefaultMaxDegreeOfParallelism, PdfRasterizer.Shared.MaxDegreeOfParallelism);
        output.WriteLine($"default degree of parallelism here: {PdfRasterizer.Shared.MaxDegreeOfParallelism}");
    }

    [Fact]
    public void OptionsAreCopied()
    {
        var options = new PdfRasterizerOptions { MaxDegreeOfParallelism = 2 };
        var rasterizer = new PdfRasterizer(options);
        options.MaxDegreeOfParallelism = 7;

        Assert.Equal(2, rasterizer.MaxDegreeOfParallelism);
    }
}
