// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.Media.Pdf;

/// <summary>Checks done on the raw bytes before poppler sees them, so that common failures get a precise message.</summary>
internal static class PdfFormat
{
    /// <summary>How far from the start the <c>%PDF-</c> header may be, and from the end the <c>%%EOF</c> marker (Acrobat's 1024-byte rule).</summary>
    public const int MarkerWindow = 1024;

    /// <summary>Rejects data that is empty, has no <c>%PDF-</c> header in its first 1024 bytes, or no <c>%%EOF</c> marker in its last 1024 bytes.</summary>
    /// <param name="data">The whole file.</param>
    /// <exception cref="InvalidMediaException">The data is empty, not a PDF, or truncated.</exception>
    /// <remarks>
    /// poppler (like most readers) silently reconstructs a truncated file's cross-reference table and renders whatever
    /// survived, so a cut-off download would otherwise pass as a shorter document. Every complete PDF ends with
    /// <c>%%EOF</c>; one without it in the last 1024 bytes is rejected as truncated.
    /// </remarks>
    public static void Validate(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty)
        {
            throw new InvalidMediaException("Cannot open the PDF: the data is empty.", MediaTypes.Pdf);
        }

        if (data[..Math.Min(MarkerWindow, data.Length)].IndexOf("%PDF-"u8) < 0)
        {
            throw new InvalidMediaException(
                $"Cannot open the PDF: the data is not a PDF file (there is no %PDF- header in its first {MarkerWindow} bytes; it starts with {Describe(data)}). " +
                "Check that the file really is a PDF and not, for example, an HTML error page or a text file with a .pdf name.",
                MediaTypes.Pdf);
        }

        if (data[Math.Max(0, data.Length - MarkerWindow)..].IndexOf("%%EOF"u8) < 0)
        {
            throw new InvalidMediaException(
                $"Cannot open the PDF: the file is truncated (it has {data.Length} bytes and no %%EOF end-of-file marker in its last {MarkerWindow} bytes). " +
                "It was probably cut off while downloading or copying; fetch it again.",
                MediaTypes.Pdf);
        }
    }

    /// <summary>Tells whether the file has an <c>/Encrypt</c> entry (in its trailer or cross-reference stream), i.e. uses the standard security handler or another one.</summary>
    /// <param name="data">The whole file.</param>
    /// <returns>Whether the document is encrypted.</returns>
    /// <remarks>The trailer and cross-reference stream dictionaries are never compressed or encrypted, so the key is visible in the raw bytes.</remarks>
    public static bool HasEncryptEntry(ReadOnlySpan<byte> data)
    {
        var key = "/Encrypt"u8;
        while (true)
        {
            var at = data.IndexOf(key);
            if (at < 0)
            {
                return false;
            }

            var next = at + key.Length;
            // "/Encrypt" followed by a delimiter or white space, not "/EncryptMetadata" and the like.
            if (next >= data.Length || !char.IsAsciiLetterOrDigit((char)data[next]))
            {
                return true;
            }

            data = data[next..];
        }
    }

    private static string Describe(ReadOnlySpan<byte> data)
    {
        var head = data[..Math.Min(24, data.Length)];
        foreach (var b in head)
        {
            if (b is < 0x20 and not (0x09 or 0x0A or 0x0D) or >= 0x7F)
            {
                return "0x" + Convert.ToHexString(head[..Math.Min(8, head.Length)]);
            }
        }

        return "\"" + Encoding.ASCII.GetString(head).ReplaceLineEndings(" ") + "\"";
    }
}
