// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Pdf.Interop;

/// <summary>poppler-glib's error codes (<c>PopplerError</c> in poppler.h), in the <c>poppler-quark</c> domain.</summary>
internal enum PopplerError
{
    /// <summary>POPPLER_ERROR_INVALID: generic error when a document operation fails.</summary>
    Invalid = 0,

    /// <summary>POPPLER_ERROR_ENCRYPTED: the document is encrypted and the password is missing or wrong.</summary>
    Encrypted = 1,

    /// <summary>POPPLER_ERROR_OPEN_FILE: the file could not be opened.</summary>
    OpenFile = 2,

    /// <summary>POPPLER_ERROR_BAD_CATALOG: the document's catalog is broken.</summary>
    BadCatalog = 3,

    /// <summary>POPPLER_ERROR_DAMAGED: the document is damaged.</summary>
    Damaged = 4,
}

/// <summary>The poppler-glib functions this assembly calls (poppler-document.h, poppler-page.h).</summary>
/// <remarks>A document and its pages must be used by one thread at a time; separate documents may be used on separate threads.</remarks>
internal static unsafe partial class PopplerNative
{
    private const string Library = PdfNativeLibraries.PopplerName;

    static PopplerNative() => PdfNativeLibraries.RegisterResolver();

    // PopplerDocument *poppler_document_new_from_bytes(GBytes *bytes, const char *password, GError **error);
    [LibraryImport(Library, EntryPoint = "poppler_document_new_from_bytes", StringMarshalling = StringMarshalling.Utf8)]
    public static partial SafePopplerDocumentHandle DocumentNewFromBytes(SafeGBytesHandle bytes, string? password, GError** error);

    // PopplerDocument *poppler_document_new_from_stream(GInputStream *stream, goffset length, const char *password,
    //                                                  GCancellable *cancellable, GError **error);
    [LibraryImport(Library, EntryPoint = "poppler_document_new_from_stream", StringMarshalling = StringMarshalling.Utf8)]
    public static partial SafePopplerDocumentHandle DocumentNewFromStream(SafeGInputStreamHandle stream, long length, string? password, IntPtr cancellable, GError** error);

    // int poppler_document_get_n_pages(PopplerDocument *document);
    [LibraryImport(Library, EntryPoint = "poppler_document_get_n_pages")]
    public static partial int DocumentGetNPages(SafePopplerDocumentHandle document);

    // PopplerPage *poppler_document_get_page(PopplerDocument *document, int index);  (new reference, or NULL)
    [LibraryImport(Library, EntryPoint = "poppler_document_get_page")]
    public static partial SafePopplerPageHandle DocumentGetPage(SafePopplerDocumentHandle document, int index);

    // gchar *poppler_document_get_title(PopplerDocument *document);  (g_free)
    [LibraryImport(Library, EntryPoint = "poppler_document_get_title")]
    public static partial byte* DocumentGetTitle(SafePopplerDocumentHandle document);

    // gchar *poppler_document_get_author(PopplerDocument *document);
    [LibraryImport(Library, EntryPoint = "poppler_document_get_author")]
    public static partial byte* DocumentGetAuthor(SafePopplerDocumentHandle document);

    // gchar *poppler_document_get_subject(PopplerDocument *document);
    [LibraryImport(Library, EntryPoint = "poppler_document_get_subject")]
    public static partial byte* DocumentGetSubject(SafePopplerDocumentHandle document);

    // gchar *poppler_document_get_keywords(PopplerDocument *document);
    [LibraryImport(Library, EntryPoint = "poppler_document_get_keywords")]
    public static partial byte* DocumentGetKeywords(SafePopplerDocumentHandle document);

    // gchar *poppler_document_get_creator(PopplerDocument *document);
    [LibraryImport(Library, EntryPoint = "poppler_document_get_creator")]
    public static partial byte* DocumentGetCreator(SafePopplerDocumentHandle document);

    // gchar *poppler_document_get_producer(PopplerDocument *document);
    [LibraryImport(Library, EntryPoint = "poppler_document_get_producer")]
    public static partial byte* DocumentGetProducer(SafePopplerDocumentHandle document);

    // void poppler_document_get_pdf_version(PopplerDocument *document, guint *major_version, guint *minor_version);
    [LibraryImport(Library, EntryPoint = "poppler_document_get_pdf_version")]
    public static partial void DocumentGetPdfVersion(SafePopplerDocumentHandle document, out uint major, out uint minor);

    // void poppler_page_get_size(PopplerPage *page, double *width, double *height);  (points, rotation applied)
    [LibraryImport(Library, EntryPoint = "poppler_page_get_size")]
    public static partial void PageGetSize(SafePopplerPageHandle page, out double width, out double height);

    // void poppler_page_render(PopplerPage *page, cairo_t *cairo);
    [LibraryImport(Library, EntryPoint = "poppler_page_render")]
    public static partial void PageRender(SafePopplerPageHandle page, SafeCairoHandle cairo);

    // char *poppler_page_get_text(PopplerPage *page);  (g_free)
    [LibraryImport(Library, EntryPoint = "poppler_page_get_text")]
    public static partial byte* PageGetText(SafePopplerPageHandle page);
}
