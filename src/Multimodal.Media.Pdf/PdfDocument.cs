// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Media.Pdf.Interop;

namespace Multimodal.Media.Pdf;

/// <summary>An open PDF document: page count, page sizes, metadata, text layer and page rendering, through poppler-glib and cairo.</summary>
/// <remarks>
/// <para>
/// The file's bytes are checked before poppler sees them: data without a <c>%PDF-</c> header in its first 1024
/// bytes, or without a <c>%%EOF</c> marker in its last 1024 bytes (a truncated file), is rejected with
/// <see cref="InvalidMediaException"/>, as is a document poppler reports as damaged, and an encrypted document opened
/// without its (correct) password. The bytes are copied once into a native, immutable buffer; the caller's memory is
/// not kept.
/// </para>
/// <para>
/// Pages are numbered from 1. Pages render on white into <see cref="ImagePixelFormat.Rgb24"/> frames sized like
/// PyMuPDF's <c>page.get_pixmap(matrix=Matrix(zoom, zoom))</c> (an A4 page at zoom 2 is 1190 × 1684).
/// </para>
/// <para>
/// A poppler document cannot be used by two threads at once, so the members serialise on an internal lock: the
/// instance is thread-safe but renders one page at a time. To render pages in parallel use <see cref="PdfRasterizer"/>,
/// which opens one document per worker over the same bytes. Dispose the document to release its native memory.
/// </para>
/// <code>
/// using var pdf = PdfDocument.Open("report.pdf");
/// ImageFrame page1 = pdf.RenderPage(1, new PdfRenderOptions { Zoom = 2 });
/// string text = pdf.GetText(1);
/// </code>
/// </remarks>
public sealed class PdfDocument : IDisposable
{
    private static readonly PdfRenderOptions DefaultRenderOptions = new();
    private static int _liveDocuments;
    private static long _pagesRendered;
    private readonly Lock _lock = new();
    private readonly SafePopplerDocumentHandle _document;
    private readonly bool _isEncrypted;
    private PdfMetadata? _metadata;
    private bool _disposed;

    private PdfDocument(SafePopplerDocumentHandle document, int pageCount, bool isEncrypted)
    {
        _document = document;
        PageCount = pageCount;
        _isEncrypted = isEncrypted;
        Interlocked.Increment(ref _liveDocuments);
    }

    /// <summary>Gets the number of documents opened and not yet disposed in this process (a diagnostic for leak tests).</summary>
    internal static int LiveDocuments => Volatile.Read(ref _liveDocuments);

    /// <summary>Gets the number of pages rendered in this process (a diagnostic for look-ahead tests).</summary>
    internal static long PagesRendered => Interlocked.Read(ref _pagesRendered);

    /// <summary>Gets the number of pages.</summary>
    public int PageCount { get; }

    /// <summary>Gets the document's metadata (title, author, …, PDF version, page count, encryption).</summary>
    /// <exception cref="ObjectDisposedException">The document has been disposed.</exception>
    public PdfMetadata Metadata
    {
        get
        {
            lock (_lock)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                return _metadata ??= ReadMetadata();
            }
        }
    }

    /// <summary>Opens a PDF file.</summary>
    /// <param name="path">The file.</param>
    /// <param name="password">The password of an encrypted document (user or owner password); <see langword="null"/> for none.</param>
    /// <returns>The open document.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty.</exception>
    /// <exception cref="InvalidMediaException">The file cannot be read, is not a PDF, is truncated or damaged, or is encrypted and the password is missing or wrong.</exception>
    /// <exception cref="NativeLibraryException">poppler-glib or cairo cannot be loaded.</exception>
    public static PdfDocument Open(string path, string? password = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new InvalidMediaException($"Cannot read the PDF file '{path}': {ex.Message}", MediaTypes.Pdf, ex);
        }

        return Open(data, password);
    }

    /// <summary>Opens a PDF held in memory. The bytes are copied; the caller may reuse its buffer afterwards.</summary>
    /// <param name="data">The whole PDF file.</param>
    /// <param name="password">The password of an encrypted document (user or owner password); <see langword="null"/> for none.</param>
    /// <returns>The open document.</returns>
    /// <exception cref="InvalidMediaException">The data is not a PDF, is truncated or damaged, or is encrypted and the password is missing or wrong.</exception>
    /// <exception cref="NativeLibraryException">poppler-glib or cairo cannot be loaded.</exception>
    public static PdfDocument Open(ReadOnlyMemory<byte> data, string? password = null)
    {
        using var bytes = CreateBuffer(data.Span);
        return Open(bytes, password, PdfFormat.HasEncryptEntry(data.Span));
    }

    /// <summary>Reads a PDF from a stream and opens it.</summary>
    /// <param name="stream">The stream, positioned at the start of the file. It is read to the end and not disposed.</param>
    /// <param name="password">The password of an encrypted document; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The open document.</returns>
    /// <exception cref="InvalidMediaException">The data is not a PDF, is truncated or damaged, or is encrypted and the password is missing or wrong.</exception>
    /// <exception cref="NativeLibraryException">poppler-glib or cairo cannot be loaded.</exception>
    public static ValueTask<PdfDocument> OpenAsync(Stream stream, string? password = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return OpenAsync(MediaSource.FromStream(stream, MediaTypes.Pdf, leaveOpen: true), password, cancellationToken);
    }

    /// <summary>Reads a PDF from a media source (memory, file or stream) and opens it.</summary>
    /// <param name="source">The source.</param>
    /// <param name="password">The password of an encrypted document; <see langword="null"/> for none.</param>
    /// <param name="cancellationToken">Cancels reading.</param>
    /// <returns>The open document.</returns>
    /// <exception cref="InvalidMediaException">The source cannot be read, or the data is not a PDF, is truncated or damaged, or is encrypted and the password is missing or wrong.</exception>
    /// <exception cref="NativeLibraryException">poppler-glib or cairo cannot be loaded.</exception>
    public static async ValueTask<PdfDocument> OpenAsync(MediaSource source, string? password = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var data = await source.ReadAllBytesAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return Open(data, password);
    }

    /// <summary>Gets the size of a page in points, with its rotation applied.</summary>
    /// <param name="pageNumber">The 1-based page number.</param>
    /// <returns>The size.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pageNumber"/> is not between 1 and <see cref="PageCount"/>.</exception>
    /// <exception cref="InvalidMediaException">The page cannot be loaded.</exception>
    /// <exception cref="ObjectDisposedException">The document has been disposed.</exception>
    public PdfPageSize GetPageSize(int pageNumber)
    {
        lock (_lock)
        {
            using var page = GetPage(pageNumber);
            PopplerNative.PageGetSize(page, out var width, out var height);
            return new PdfPageSize(width, height);
        }
    }

    /// <summary>Gets the text layer of a page, in reading order as poppler lays it out (lines separated by <c>\n</c>).</summary>
    /// <param name="pageNumber">The 1-based page number.</param>
    /// <returns>The text; empty when the page has none (for example a scanned page).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pageNumber"/> is not between 1 and <see cref="PageCount"/>.</exception>
    /// <exception cref="InvalidMediaException">The page cannot be loaded.</exception>
    /// <exception cref="ObjectDisposedException">The document has been disposed.</exception>
    public string GetText(int pageNumber)
    {
        lock (_lock)
        {
            using var page = GetPage(pageNumber);
            return ReadText(page);
        }
    }

    /// <summary>Renders a page on a white background.</summary>
    /// <param name="pageNumber">The 1-based page number.</param>
    /// <param name="options">The zoom, maximum long side and pixel limit; <see langword="null"/> for zoom 2 (144 dpi).</param>
    /// <returns>The page as <see cref="ImagePixelFormat.Rgb24"/> pixels, sized like PyMuPDF's pixmap at the same zoom.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pageNumber"/> is not between 1 and <see cref="PageCount"/>.</exception>
    /// <exception cref="InvalidMediaException">The page cannot be loaded, or its rendering would exceed the pixel limit or cairo's 32767-pixel side.</exception>
    /// <exception cref="ObjectDisposedException">The document has been disposed.</exception>
    public ImageFrame RenderPage(int pageNumber, PdfRenderOptions? options = null)
    {
        options ??= DefaultRenderOptions;
        return RenderPageCore(pageNumber, options.Zoom, options.MaxLongSide, options.MaxPixels, includeText: false, out _);
    }

    /// <summary>Releases the native document. Safe to call more than once.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _document.Dispose();
            Interlocked.Decrement(ref _liveDocuments);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"PdfDocument ({PageCount} pages)";

    /// <summary>Checks the bytes and copies them into an immutable native buffer that any number of documents can share.</summary>
    /// <param name="data">The whole file.</param>
    /// <returns>The buffer; the caller disposes it (documents opened over it keep their own references).</returns>
    /// <exception cref="InvalidMediaException">The data is empty, not a PDF, or truncated.</exception>
    /// <exception cref="NativeLibraryException">The native libraries cannot be loaded.</exception>
    internal static SafeGBytesHandle CreateBuffer(ReadOnlySpan<byte> data)
    {
        PdfFormat.Validate(data);
        PdfNativeLibraries.EnsureLoaded();
        return GLibNative.CopyToBytes(data);
    }

    /// <summary>Opens a document over a shared buffer.</summary>
    /// <param name="bytes">The buffer from <see cref="CreateBuffer"/>; poppler takes its own reference.</param>
    /// <param name="password">The password, or <see langword="null"/>.</param>
    /// <param name="isEncrypted">Whether the file has an <c>/Encrypt</c> entry.</param>
    /// <returns>The document.</returns>
    /// <exception cref="InvalidMediaException">poppler cannot open the document.</exception>
    internal static unsafe PdfDocument Open(SafeGBytesHandle bytes, string? password, bool isEncrypted)
    {
        // An empty password is the same as none: PDF readers always try the empty user password.
        password = string.IsNullOrEmpty(password) ? null : password;
        GError* error = null;
        SafePopplerDocumentHandle handle;
        if (password is null)
        {
            handle = PopplerNative.DocumentNewFromBytes(bytes, null, &error);
        }
        else
        {
            // poppler_document_new_from_bytes retries a failed password through dynamic_cast<BytesStream*>(str->copy()),
            // which is null (MemStream::copy returns a MemStream), and crashes the process on a wrong password
            // (poppler 22.12 and later). new_from_stream over a memory stream of the same bytes copies its stream safely.
            using var stream = GioNative.MemoryInputStreamNewFromBytes(bytes);
            if (stream.IsInvalid)
            {
                throw new InvalidMediaException("Cannot open the PDF: GIO could not create a memory stream over it.", MediaTypes.Pdf);
            }

            handle = PopplerNative.DocumentNewFromStream(stream, checked((long)GLibNative.BytesGetSize(bytes)), password, IntPtr.Zero, &error);
        }

        GLibError? failure = error is null ? null : GLibNative.TakeError(error);
        if (handle.IsInvalid)
        {
            handle.Dispose();
            throw OpenFailure(failure, password);
        }

        var pageCount = PopplerNative.DocumentGetNPages(handle);
        if (pageCount <= 0)
        {
            handle.Dispose();
            throw new InvalidMediaException("Cannot open the PDF: it has no pages (its page tree is empty or damaged).", MediaTypes.Pdf);
        }

        return new PdfDocument(handle, pageCount, isEncrypted);
    }

    /// <summary>Renders a page, optionally reading its text layer from the same page object.</summary>
    /// <param name="pageNumber">The 1-based page number.</param>
    /// <param name="zoom">The zoom.</param>
    /// <param name="maxLongSide">The maximum longer side, or <see langword="null"/>.</param>
    /// <param name="maxPixels">The pixel limit.</param>
    /// <param name="includeText">Whether to read the text layer.</param>
    /// <param name="text">The text layer when <paramref name="includeText"/> is set.</param>
    /// <returns>The pixels.</returns>
    internal unsafe ImageFrame RenderPageCore(int pageNumber, double zoom, int? maxLongSide, long maxPixels, bool includeText, out string? text)
    {
        PdfRenderOptions.ValidateZoom(zoom);
        lock (_lock)
        {
            using var page = GetPage(pageNumber);
            PopplerNative.PageGetSize(page, out var widthPoints, out var heightPoints);
            var z = PdfRenderGeometry.EffectiveZoom(widthPoints, heightPoints, zoom, maxLongSide);
            var width = PdfRenderGeometry.PixelExtent(widthPoints, z);
            var height = PdfRenderGeometry.PixelExtent(heightPoints, z);
            if (width > PdfRenderGeometry.MaxSide || height > PdfRenderGeometry.MaxSide || (long)width * height > maxPixels)
            {
                throw new InvalidMediaException(
                    $"Cannot render page {pageNumber} of the PDF: at zoom {z:0.###} its {widthPoints:0.#} x {heightPoints:0.#} pt become {width} x {height} pixels, " +
                    $"over the limit ({maxPixels} pixels, {PdfRenderGeometry.MaxSide} per side). Lower the zoom or set a maximum long side.",
                    MediaTypes.Pdf);
            }

            var pixels = GC.AllocateUninitializedArray<byte>(checked(width * height * 3)); // every byte is written below
            using (var surface = CairoNative.ImageSurfaceCreate(CairoNative.FormatRgb24, width, height))
            {
                ThrowIfFailed(CairoNative.SurfaceStatus(surface), pageNumber, "creating the image surface");
                using (var cr = CairoNative.Create(surface))
                {
                    ThrowIfFailed(CairoNative.Status(cr), pageNumber, "creating the drawing context");
                    CairoNative.SetSourceRgb(cr, 1, 1, 1);
                    CairoNative.Paint(cr);
                    CairoNative.Scale(cr, z, z);
                    // Display rendering (not render_for_printing): annotations appear as on screen, as in PyMuPDF's
                    // get_pixmap (annots=True); for pages without print-only or hidden annotations both are identical.
                    PopplerNative.PageRender(page, cr);
                    ThrowIfFailed(CairoNative.Status(cr), pageNumber, "rendering");
                }

                CairoNative.SurfaceFlush(surface);
                var data = CairoNative.ImageSurfaceGetData(surface);
                var stride = CairoNative.ImageSurfaceGetStride(surface);
                if (data is null)
                {
                    throw new InvalidMediaException($"Cannot render page {pageNumber} of the PDF: cairo returned no pixel data.", MediaTypes.Pdf);
                }

                PixelConversion.XrgbToRgb(data, stride, pixels, width, height);
            }

            text = includeText ? ReadText(page) : null;
            Interlocked.Increment(ref _pagesRendered);
            return new ImageFrame(width, height, ImagePixelFormat.Rgb24, pixels);
        }
    }

    private static InvalidMediaException OpenFailure(GLibError? error, string? password)
    {
        var detail = error is { } e ? $" (poppler: {e.Message})" : string.Empty;
        if (error is { Domain: "poppler-quark", Code: (int)PopplerError.Encrypted })
        {
            return string.IsNullOrEmpty(password)
                ? new InvalidMediaException(
                    "Cannot open the PDF: it is encrypted and needs a password. Pass the password with PdfContent.Password (or the password argument of PdfDocument.Open).",
                    MediaTypes.Pdf)
                : new InvalidMediaException(
                    "Cannot open the PDF: it is encrypted and the password given is wrong. Check PdfContent.Password (or the password argument of PdfDocument.Open).",
                    MediaTypes.Pdf);
        }

        return new InvalidMediaException($"Cannot open the PDF: it is damaged or not a valid PDF document{detail}.", MediaTypes.Pdf);
    }

    private static unsafe string ReadText(SafePopplerPageHandle page) => GLibNative.TakeString(PopplerNative.PageGetText(page)) ?? string.Empty;

    private static void ThrowIfFailed(int status, int pageNumber, string step)
    {
        if (status != CairoNative.StatusSuccess)
        {
            throw new InvalidMediaException($"Cannot render page {pageNumber} of the PDF: cairo failed while {step} ({CairoNative.Describe(status)}).", MediaTypes.Pdf);
        }
    }

    private SafePopplerPageHandle GetPage(int pageNumber)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (pageNumber < 1 || pageNumber > PageCount)
        {
            throw new ArgumentOutOfRangeException(nameof(pageNumber), pageNumber, $"Page {pageNumber} does not exist: the document has {PageCount} pages (numbered from 1).");
        }

        var page = PopplerNative.DocumentGetPage(_document, pageNumber - 1);
        if (page.IsInvalid)
        {
            page.Dispose();
            throw new InvalidMediaException($"Cannot load page {pageNumber} of the PDF: the page object is missing or damaged.", MediaTypes.Pdf);
        }

        return page;
    }

    private unsafe PdfMetadata ReadMetadata()
    {
        PopplerNative.DocumentGetPdfVersion(_document, out var major, out var minor);
        return new PdfMetadata(
            Clean(GLibNative.TakeString(PopplerNative.DocumentGetTitle(_document))),
            Clean(GLibNative.TakeString(PopplerNative.DocumentGetAuthor(_document))),
            Clean(GLibNative.TakeString(PopplerNative.DocumentGetSubject(_document))),
            Clean(GLibNative.TakeString(PopplerNative.DocumentGetKeywords(_document))),
            Clean(GLibNative.TakeString(PopplerNative.DocumentGetCreator(_document))),
            Clean(GLibNative.TakeString(PopplerNative.DocumentGetProducer(_document))),
            $"{major}.{minor}",
            PageCount,
            _isEncrypted);

        static string? Clean(string? s) => string.IsNullOrEmpty(s) ? null : s;
    }
}
