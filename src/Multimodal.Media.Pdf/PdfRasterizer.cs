// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Multimodal.Media.Pdf.Interop;

namespace Multimodal.Media.Pdf;

/// <summary>Renders the selected pages of a PDF through poppler-glib and cairo, several at a time, and yields them in page order.</summary>
/// <remarks>
/// <para>
/// Each call reads the document once, copies it into an immutable native buffer and opens one poppler document per
/// worker over that buffer (poppler documents cannot render concurrently). At most
/// <see cref="PdfRasterizerOptions.MaxDegreeOfParallelism"/> pages are rendering or waiting to be consumed at any
/// time, so a 500-page document never sits in memory whole. Cancellation is checked before every page; a page that
/// has started rendering finishes first. Disposing the enumerator early waits for the pages in flight and releases
/// every native object.
/// </para>
/// <para>
/// Pages render on white at the part's <see cref="PdfContent.Zoom"/> (or the default zoom), lowered where needed to
/// respect <see cref="PdfContent.MaxLongSide"/>, into <see cref="ImagePixelFormat.Rgb24"/> frames sized like PyMuPDF's
/// <c>page.get_pixmap(matrix=Matrix(zoom, zoom))</c>. The instance is immutable and thread-safe.
/// </para>
/// <code>
/// var pdf = new PdfContent(MediaSource.FromFile("report.pdf"), PageSelection.Parse("1-9"));
/// await foreach (var page in PdfRasterizer.Shared.RenderPagesAsync(pdf, defaultZoom: 2))
/// {
///     Console.WriteLine($"page {page.PageNumber}: {page.Image.Width}x{page.Image.Height}");
/// }
/// </code>
/// </remarks>
public sealed class PdfRasterizer : IPdfRasterizer
{
    private readonly PdfRasterizerOptions _options;

    /// <summary>Initializes a rasteriser.</summary>
    /// <param name="options">The options (copied); <see langword="null"/> for the defaults.</param>
    public PdfRasterizer(PdfRasterizerOptions? options = null)
    {
        _options = (options ?? new PdfRasterizerOptions()).Clone();
    }

    /// <summary>Gets a shared instance with the default options.</summary>
    public static PdfRasterizer Shared { get; } = new();

    /// <summary>Gets the maximum number of pages rendered at the same time.</summary>
    public int MaxDegreeOfParallelism => _options.MaxDegreeOfParallelism;

    /// <summary>Gets whether rendered pages carry their text layer.</summary>
    public bool IncludeText => _options.IncludeText;

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="document"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The zoom is not a positive finite number.</exception>
    /// <exception cref="NativeLibraryException">poppler-glib or cairo cannot be loaded.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public IAsyncEnumerable<RenderedPage> RenderPagesAsync(PdfContent document, double defaultZoom, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(document);
        var zoom = document.Zoom ?? defaultZoom;
        PdfRenderOptions.ValidateZoom(zoom);
        return RenderCoreAsync(document, zoom, cancellationToken);
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null && serviceType == typeof(PdfRasterizerOptions))
        {
            return _options.Clone();
        }

        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }

    private async IAsyncEnumerable<RenderedPage> RenderCoreAsync(PdfContent content, double zoom, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var data = await content.Source.ReadAllBytesAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        using var session = RenderSession.Open(data.Span, content, zoom, _options);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pages = session.Pages;
        var inFlight = new Queue<Task<RenderedPage>>();
        var degree = Math.Min(_options.MaxDegreeOfParallelism, pages.Count);
        var next = 0;
        try
        {
            while (next < pages.Count && inFlight.Count < degree)
            {
                inFlight.Enqueue(session.StartAsync(pages[next++], stop.Token));
            }

            while (inFlight.Count > 0)
            {
                var page = await inFlight.Dequeue().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
                // Keep the workers busy while the consumer handles this page; at most `degree` pages stay in flight.
                if (next < pages.Count)
                {
                    inFlight.Enqueue(session.StartAsync(pages[next++], stop.Token));
                }

                yield return page;
            }
        }
        finally
        {
            // Early disposal, cancellation or a failed page: stop the rest and wait for pages already rendering, so
            // that no native document is disposed while a worker still uses it.
            await stop.CancelAsync().ConfigureAwait(false);
            if (inFlight.Count > 0)
            {
                await ((Task)Task.WhenAll(inFlight)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    /// <summary>One document being rendered: the shared native buffer and a pool of poppler documents, one per worker.</summary>
    private sealed class RenderSession : IDisposable
    {
        private readonly SafeGBytesHandle _bytes;
        private readonly string? _password;
        private readonly bool _isEncrypted;
        private readonly double _zoom;
        private readonly int? _maxLongSide;
        private readonly PdfRasterizerOptions _options;
        private readonly ConcurrentBag<PdfDocument> _idle = [];
        private readonly ConcurrentBag<PdfDocument> _all = [];

        private RenderSession(SafeGBytesHandle bytes, PdfDocument first, IReadOnlyList<int> pages, PdfContent content, bool isEncrypted, double zoom, PdfRasterizerOptions options)
        {
            _bytes = bytes;
            _password = content.Password;
            _isEncrypted = isEncrypted;
            _zoom = zoom;
            _maxLongSide = content.MaxLongSide;
            _options = options;
            Pages = pages;
            _idle.Add(first);
            _all.Add(first);
        }

        public IReadOnlyList<int> Pages { get; }

        public static RenderSession Open(ReadOnlySpan<byte> data, PdfContent content, double zoom, PdfRasterizerOptions options)
        {
            var bytes = PdfDocument.CreateBuffer(data);
            PdfDocument? first = null;
            try
            {
                var isEncrypted = PdfFormat.HasEncryptEntry(data);
                first = PdfDocument.Open(bytes, content.Password, isEncrypted);
                IReadOnlyList<int> pages;
                try
                {
                    pages = content.Pages.Resolve(first.PageCount);
                }
                catch (ArgumentOutOfRangeException ex)
                {
                    throw new InvalidMediaException($"Cannot render the PDF: {StripParameter(ex.Message)} Select pages that exist (PdfContent pages, e.g. \"1-{first.PageCount}\").", MediaTypes.Pdf, ex);
                }

                var session = new RenderSession(bytes, first, pages, content, isEncrypted, zoom, options);
                first = null;
                bytes = null!;
                return session;
            }
            finally
            {
                first?.Dispose();
                bytes?.Dispose();
            }
        }

        public Task<RenderedPage> StartAsync(int pageNumber, CancellationToken cancellationToken) =>
            Task.Run(() => Render(pageNumber, cancellationToken), cancellationToken);

        public void Dispose()
        {
            foreach (var document in _all)
            {
                document.Dispose();
            }

            _bytes.Dispose();
        }

        private static string StripParameter(string message)
        {
            var at = message.IndexOf(" (Parameter '", StringComparison.Ordinal);
            return at < 0 ? message : message[..at];
        }

        private RenderedPage Render(int pageNumber, CancellationToken cancellationToken)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!_idle.TryTake(out var document))
            {
                document = PdfDocument.Open(_bytes, _password, _isEncrypted);
                _all.Add(document);
            }

            try
            {
                var image = document.RenderPageCore(pageNumber, _zoom, _maxLongSide, _options.MaxPixels, _options.IncludeText, out var text);
                return new RenderedPage(pageNumber, image, text);
            }
            finally
            {
                _idle.Add(document);
            }
        }
    }
}
