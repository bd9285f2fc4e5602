// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.InteropServices;

namespace Multimodal.Media.Images.Interop.TurboJpeg;

/// <summary>A TurboJPEG decompressor instance (<c>tjhandle</c>), destroyed with <c>tjDestroy</c>.</summary>
/// <remarks>
/// A handle is not thread-safe: use one per decode at a time. TurboJPEG reports libjpeg errors through return codes
/// (its own <c>setjmp</c>/<c>longjmp</c> never leaves the native call), so these calls are safe from managed code.
/// </remarks>
internal sealed partial class SafeTurboJpegHandle : SafeHandle
{
    /// <summary>Initializes an invalid handle; the interop marshaller sets the native value.</summary>
    public SafeTurboJpegHandle()
        : base(IntPtr.Zero, ownsHandle: true)
    {
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Reads the JPEG header: size, chroma subsampling and colour space.</summary>
    /// <param name="jpeg">The whole JPEG file.</param>
    /// <param name="width">The image width.</param>
    /// <param name="height">The image height.</param>
    /// <param name="colorspace">The colour space of the stored components.</param>
    /// <returns>0 on success, -1 on error (see <see cref="GetErrorMessage"/>).</returns>
    public unsafe int DecompressHeader(ReadOnlySpan<byte> jpeg, out int width, out int height, out TurboJpegColorspace colorspace)
    {
        fixed (byte* data = jpeg)
        {
            var rc = TjDecompressHeader3(this, data, new CULong((nuint)jpeg.Length), out width, out height, out _, out var cs);
            colorspace = (TurboJpegColorspace)cs;
            return rc;
        }
    }

    /// <summary>Decodes the whole image into <paramref name="destination"/>.</summary>
    /// <param name="jpeg">The whole JPEG file.</param>
    /// <param name="destination">Room for <paramref name="width"/> × <paramref name="height"/> pixels of <paramref name="format"/>, tightly packed.</param>
    /// <param name="width">The width from <see cref="DecompressHeader"/>.</param>
    /// <param name="height">The height from <see cref="DecompressHeader"/>.</param>
    /// <param name="format">The output pixel format.</param>
    /// <param name="flags">TJFLAG_* bits.</param>
    /// <returns>0 on success, -1 on a warning or an error (see <see cref="GetErrorCode"/>).</returns>
    public unsafe int Decompress(ReadOnlySpan<byte> jpeg, Span<byte> destination, int width, int height, TurboJpegPixelFormat format, int flags)
    {
        fixed (byte* data = jpeg)
        fixed (byte* output = destination)
        {
            // Pitch 0 means width * bytes per pixel: the rows are tightly packed.
            return TjDecompress2(this, data, new CULong((nuint)jpeg.Length), output, width, 0, height, (int)format, flags);
        }
    }

    /// <summary>Gets the message of the last error or warning on this handle.</summary>
    /// <returns>The message, for example <c>Premature end of JPEG file</c>.</returns>
    public unsafe string GetErrorMessage()
    {
        var message = TjGetErrorStr2(this);
        return message is null ? "unknown TurboJPEG error" : Marshal.PtrToStringUTF8((IntPtr)message) ?? "unknown TurboJPEG error";
    }

    /// <summary>Gets whether the last failure was a warning (<c>TJERR_WARNING</c>, the image was decoded) or fatal.</summary>
    /// <returns><see cref="TurboJpegNative.ErrorWarning"/> or <c>TJERR_FATAL</c>.</returns>
    public int GetErrorCode() => TjGetErrorCode(this);

    /// <inheritdoc />
    protected override bool ReleaseHandle() => TjDestroy(handle) == 0;

    // int tjDecompressHeader3(tjhandle handle, const unsigned char *jpegBuf, unsigned long jpegSize, int *width,
    //                         int *height, int *jpegSubsamp, int *jpegColorspace);
    [LibraryImport(TurboJpegNative.Library, EntryPoint = "tjDecompressHeader3")]
    private static unsafe partial int TjDecompressHeader3(SafeTurboJpegHandle handle, byte* jpegBuf, CULong jpegSize, out int width, out int height, out int jpegSubsamp, out int jpegColorspace);

    // int tjDecompress2(tjhandle handle, const unsigned char *jpegBuf, unsigned long jpegSize, unsigned char *dstBuf,
    //                   int width, int pitch, int height, int pixelFormat, int flags);
    [LibraryImport(TurboJpegNative.Library, EntryPoint = "tjDecompress2")]
    private static unsafe partial int TjDecompress2(SafeTurboJpegHandle handle, byte* jpegBuf, CULong jpegSize, byte* dstBuf, int width, int pitch, int height, int pixelFormat, int flags);

    // char *tjGetErrorStr2(tjhandle handle);
    [LibraryImport(TurboJpegNative.Library, EntryPoint = "tjGetErrorStr2")]
    private static unsafe partial byte* TjGetErrorStr2(SafeTurboJpegHandle handle);

    // int tjGetErrorCode(tjhandle handle);
    [LibraryImport(TurboJpegNative.Library, EntryPoint = "tjGetErrorCode")]
    private static partial int TjGetErrorCode(SafeTurboJpegHandle handle);

    // int tjDestroy(tjhandle handle);
    [LibraryImport(TurboJpegNative.Library, EntryPoint = "tjDestroy")]
    private static partial int TjDestroy(IntPtr handle);
}
