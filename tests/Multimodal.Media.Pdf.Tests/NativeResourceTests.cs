// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using Xunit.Abstractions;

namespace Multimodal.Media.Pdf;

/// <summary>Native objects are released on every path: early disposal, failures, and a thousand open/render/close cycles.</summary>
[Collection(NativeResourceCollection.Name)]
public sealed class NativeResourceTests(ITestOutputHelper output)
{
    private static PdfContent Content(string path) => new(MediaSource.FromFile(path));

    [Fact]
    public async Task EarlyDisposalOfTheEnumerator_ReleasesEveryDocument()
    {
        var before = PdfDocument.LiveDocuments;
        var rasterizer = new PdfRasterizer(new() { MaxDegreeOfParallelism = 4 });

        await foreach (var page in rasterizer.RenderPagesAsync(Content(PdfTestData.Multipage10), 1))
        {
            Assert.Equal(1, page.PageNumber);
            Assert.True(PdfDocument.LiveDocuments > before); // the workers' documents are open now
            break;
        }

        Assert.Equal(before, PdfDocument.LiveDocuments);
    }

    [Fact]
    public async Task FailuresAndCancellation_ReleaseEveryDocument()
    {
        var before = PdfDocument.LiveDocuments;
        await Assert.ThrowsAsync<InvalidMediaException>(async () =>
            await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(new PdfContent(MediaSource.FromFile(PdfTestData.TextShapes), PageSelection.Parse("4")), 1)));
        await Assert.ThrowsAsync<InvalidMediaException>(async () =>
            await PdfTestData.CollectAsync(PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.Encrypted), 1)));
        using var cts = new CancellationTokenSource();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var page in PdfRasterizer.Shared.RenderPagesAsync(Content(PdfTestData.Multipage10), 1, cts.Token))
            {
                await cts.CancelAsync();
            }
        });

        Assert.Equal(before, PdfDocument.LiveDocuments);
    }

    [Fact]
    public async Task LookAhead_IsBoundedByTheDegreeOfParallelism()
    {
        var rasterizer = new PdfRasterizer(new() { MaxDegreeOfParallelism = 2 });
        var start = PdfDocument.PagesRendered;
        long renderedWhileHoldingPage1 = 0;

        await foreach (var page in rasterizer.RenderPagesAsync(Content(PdfTestData.Multipage10), 0.5))
        {
            if (page.PageNumber == 1)
            {
                // A slow consumer: the workers may finish the pages in flight but must not run ahead.
                await Task.Delay(500);
                renderedWhileHoldingPage1 = PdfDocument.PagesRendered - start;
            }
        }

        output.WriteLine($"pages rendered while the consumer held page 1: {renderedWhileHoldingPage1} (degree 2)");
        Assert.InRange(renderedWhileHoldingPage1, 1, 3); // page 1 plus at most 2 in flight
        Assert.Equal(10, PdfDocument.PagesRendered - start);
    }

    [Fact]
    public async Task AThousandOpenRenderCloseCycles_DoNotLeak()
    {
        var good = await File.ReadAllBytesAsync(PdfTestData.TextShapes);
        var encrypted = await File.ReadAllBytesAsync(PdfTestData.Encrypted);
        var corrupt = await File.ReadAllBytesAsync(PdfTestData.Corrupt);
        var before = PdfDocument.LiveDocuments;
        var options = new PdfRenderOptions { Zoom = 1 };
        long baseline = 0;
        var stopwatch = Stopwatch.StartNew();
        for (var i = 0; i < 1000; i++)
        {
            using (var pdf = PdfDocument.Open(good))
            {
                var frame = pdf.RenderPage((i % 3) + 1, options);
                Assert.True(frame.Width > 0);
                Assert.NotEmpty(pdf.GetText(1));
                Assert.Equal("Text and shapes", pdf.Metadata.Title);
            }

            if (i % 10 == 0)
            {
                // AES-256 (revision 6) key derivation costs 20-40 ms an attempt, so the encrypted file is opened every tenth cycle.
                Assert.Throws<InvalidMediaException>(() => PdfDocument.Open(encrypted));
                Assert.Throws<InvalidMediaException>(() => PdfDocument.Open(encrypted, "wrong")); // poppler's password retry path
                using var unlocked = PdfDocument.Open(encrypted, "secret");
                Assert.Equal(1, unlocked.PageCount);
            }

            Assert.Throws<InvalidMediaException>(() => PdfDocument.Open(corrupt));
            if (i == 99)
            {
                baseline = WorkingSetAfterGc(); // after warm-up: fonts, caches and the managed heap have settled
            }
        }

        var after = WorkingSetAfterGc();
        var growthMb = (after - baseline) / (1024.0 * 1024.0);
        output.WriteLine($"RSS after 100 cycles: {baseline / (1024.0 * 1024.0):0.0} MB; after 1000: {after / (1024.0 * 1024.0):0.0} MB; growth over cycles 100-1000: {growthMb:0.0} MB ({stopwatch.Elapsed.TotalSeconds:0.0} s)");
        Assert.Equal(before, PdfDocument.LiveDocuments);
        Assert.True(growthMb < 30, $"RSS grew by {growthMb:0.0} MB over 900 open/render/close cycles.");
    }

    [Fact]
    public async Task AHundredEarlyDisposedParallelRuns_DoNotLeak()
    {
        var bytes = await File.ReadAllBytesAsync(PdfTestData.Multipage10);
        var rasterizer = new PdfRasterizer(new() { MaxDegreeOfParallelism = 4 });
        var before = PdfDocument.LiveDocuments;
        long baseline = 0;
        for (var i = 0; i < 100; i++)
        {
            await foreach (var page in rasterizer.RenderPagesAsync(new PdfContent(MediaSource.FromBytes(bytes)) { Zoom = 0.5 }, 2))
            {
                if (page.PageNumber == 2)
                {
                    break;
                }
            }

            if (i == 19)
            {
                baseline = WorkingSetAfterGc();
            }
        }

        var growthMb = (WorkingSetAfterGc() - baseline) / (1024.0 * 1024.0);
        output.WriteLine($"RSS growth over 80 early-disposed parallel runs: {growthMb:0.0} MB");
        Assert.Equal(before, PdfDocument.LiveDocuments);
        Assert.True(growthMb < 30, $"RSS grew by {growthMb:0.0} MB.");
    }

    private static long WorkingSetAfterGc()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        using var process = Process.GetCurrentProcess();
        process.Refresh();
        return process.WorkingSet64;
    }
}
