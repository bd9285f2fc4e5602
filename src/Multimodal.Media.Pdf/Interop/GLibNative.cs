// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Pdf.Interop;

/// <summary>GLib's <c>GError</c>: an error domain, a code and a message, freed with <c>g_error_free</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GError
{
    /// <summary>The error domain (a <c>GQuark</c>).</summary>
    public uint Domain;

    /// <summary>The error code within the domain (for poppler, a <c>PopplerError</c>).</summary>
    public int Code;

    /// <summary>The UTF-8 message.</summary>
    public byte* Message;
}

/// <summary>A GError copied into managed memory.</summary>
/// <param name="Domain">The domain name, for example <c>poppler-quark</c>.</param>
/// <param name="Code">The code within the domain.</param>
/// <param name="Message">The message.</param>
internal readonly record struct GLibError(string Domain, int Code, string Message)
{
    /// <inheritdoc />
    public override string ToString() => $"{Message} ({Domain} {Code})";
}

/// <summary>The GLib functions this assembly calls: byte buffers, memory and errors.</summary>
internal static unsafe partial class GLibNative
{
    private const string Library = PdfNativeLibraries.GLibName;

    // Any call into this class first installs the assembly's DllImport resolver.
    static GLibNative() => PdfNativeLibraries.RegisterResolver();

    /// <summary>Copies <paramref name="data"/> into a new immutable, reference-counted <c>GBytes</c>.</summary>
    /// <param name="data">The bytes to copy.</param>
    /// <returns>The buffer, owned by the handle.</returns>
    /// <exception cref="OutOfMemoryException">GLib returned no buffer.</exception>
    public static SafeGBytesHandle CopyToBytes(ReadOnlySpan<byte> data)
    {
        fixed (byte* p = data)
        {
            var handle = BytesNew(p, (nuint)data.Length);
            if (handle.IsInvalid)
            {
                handle.Dispose();
                throw new OutOfMemoryException($"g_bytes_new could not copy {data.Length} bytes.");
            }

            return handle;
        }
    }

    /// <summary>Copies a GLib-allocated UTF-8 string into a managed string and frees it with <c>g_free</c>.</summary>
    /// <param name="text">The string, or null.</param>
    /// <returns>The text, or <see langword="null"/> when <paramref name="text"/> is null.</returns>
    public static string? TakeString(byte* text)
    {
        if (text is null)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8((IntPtr)text);
        }
        finally
        {
            Free(text);
        }
    }

    /// <summary>Copies a <c>GError</c> into managed memory and frees it with <c>g_error_free</c>.</summary>
    /// <param name="error">The error; must not be null.</param>
    /// <returns>The domain, code and message.</returns>
    public static GLibError TakeError(GError* error)
    {
        try
        {
            var domain = Marshal.PtrToStringUTF8((IntPtr)QuarkToString(error->Domain)) ?? "unknown";
            var message = error->Message is null ? "no message" : Marshal.PtrToStringUTF8((IntPtr)error->Message) ?? "no message";
            return new GLibError(domain, error->Code, message);
        }
        finally
        {
            ErrorFree(error);
        }
    }

    // GBytes *g_bytes_new(gconstpointer data, gsize size);
    [LibraryImport(Library, EntryPoint = "g_bytes_new")]
    private static partial SafeGBytesHandle BytesNew(byte* data, nuint size);

    /// <summary>Drops one reference to a <c>GBytes</c>.</summary>
    /// <param name="bytes">The buffer.</param>
    // void g_bytes_unref(GBytes *bytes);
    [LibraryImport(Library, EntryPoint = "g_bytes_unref")]
    public static partial void BytesUnref(IntPtr bytes);

    /// <summary>Gets the size of a <c>GBytes</c> buffer.</summary>
    /// <param name="bytes">The buffer.</param>
    /// <returns>Its size in bytes.</returns>
    // gsize g_bytes_get_size(GBytes *bytes);
    [LibraryImport(Library, EntryPoint = "g_bytes_get_size")]
    public static partial nuint BytesGetSize(SafeGBytesHandle bytes);

    // void g_free(gpointer mem);
    [LibraryImport(Library, EntryPoint = "g_free")]
    private static partial void Free(void* mem);

    // void g_error_free(GError *error);
    [LibraryImport(Library, EntryPoint = "g_error_free")]
    private static partial void ErrorFree(GError* error);

    // const gchar *g_quark_to_string(GQuark quark);
    [LibraryImport(Library, EntryPoint = "g_quark_to_string")]
    private static partial byte* QuarkToString(uint quark);
}

/// <summary>The GObject function this assembly calls.</summary>
internal static partial class GObjectNative
{
    private const string Library = PdfNativeLibraries.GObjectName;

    static GObjectNative() => PdfNativeLibraries.RegisterResolver();

    /// <summary>Drops one reference to a GObject (a poppler document or page).</summary>
    /// <param name="instance">The object.</param>
    // void g_object_unref(gpointer object);
    [LibraryImport(Library, EntryPoint = "g_object_unref")]
    public static partial void ObjectUnref(IntPtr instance);
}

/// <summary>The GIO function this assembly calls.</summary>
internal static partial class GioNative
{
    private const string Library = PdfNativeLibraries.GioName;

    static GioNative() => PdfNativeLibraries.RegisterResolver();

    /// <summary>Creates a seekable input stream that reads a <c>GBytes</c> buffer (taking a reference to it).</summary>
    /// <param name="bytes">The buffer.</param>
    /// <returns>The stream.</returns>
    // GInputStream *g_memory_input_stream_new_from_bytes(GBytes *bytes);
    [LibraryImport(Library, EntryPoint = "g_memory_input_stream_new_from_bytes")]
    public static partial SafeGInputStreamHandle MemoryInputStreamNewFromBytes(SafeGBytesHandle bytes);
}
