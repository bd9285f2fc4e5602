// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Media.Images.Codecs;
using Multimodal.Media.Images.Pixels;

namespace Multimodal.Media.Images;

/// <summary>Decodes JPEG, PNG, WebP, GIF, BMP and TIFF images into pixels identical to Pillow 9.4's <c>Image.open(f).convert(…)</c>.</summary>
/// <remarks>
/// <para>
/// The format is sniffed from the bytes; the declared media type is only used in error messages. JPEG goes through
/// libjpeg-turbo's TurboJPEG API (<c>libturbojpeg.so.0</c>) and WebP through libwebp (<c>libwebp.so.7</c>), both
/// loaded on first use as configured by <see cref="ImageCodecLibraryOptions.Shared"/>. PNG, GIF (first frame),
/// BMP and baseline TIFF are decoded in managed code, so no native error handling can unwind through .NET frames.
/// </para>
/// <para>
/// Output follows Pillow's conversions: <see cref="ImagePixelFormat.Rgb24"/> is <c>convert("RGB")</c>, which
/// <b>drops alpha without compositing it onto any background</b> (a transparent pixel keeps whatever colour it
/// stores); <see cref="ImagePixelFormat.Rgba32"/> is <c>convert("RGBA")</c> (straight alpha; a PNG/GIF single
/// transparent colour or index becomes alpha 0); <see cref="ImagePixelFormat.Gray8"/> is <c>convert("L")</c>
/// (ITU-R 601-2 luma in Pillow's fixed point). 16-bit PNG/TIFF samples become 8-bit as Pillow does: colour keeps
/// the high byte, greyscale saturates at 255. CMYK JPEGs are read as Adobe-inverted CMYK and converted with
/// Pillow's formula.
/// </para>
/// <para>
/// When <see cref="ImageDecodeOptions.ApplyExifOrientation"/> is set, the EXIF Orientation tag (JPEG APP1, PNG eXIf,
/// WebP EXIF) is applied like <c>PIL.ImageOps.exif_transpose</c>. A TIFF's Orientation tag is always applied, because
/// Pillow 9.4 applies it while loading (and it is not applied a second time).
/// </para>
/// <para>
/// The instance is stateless and thread-safe; each call creates (and always destroys) its own native decoder.
/// <see cref="ImageDecodeOptions.MaxPixels"/> is checked against the header before any pixel memory is allocated.
/// </para>
/// <code>
/// var decoder = new ImageDecoder();
/// ImageFrame frame = await decoder.DecodeAsync(MediaSource.FromFile("photo.jpg"));
/// </code>
/// </remarks>
public sealed class ImageDecoder : IImageDecoder
{
    private static readonly ImageDecodeOptions DefaultOptions = new();

    /// <summary>Gets a shared instance.</summary>
    public static ImageDecoder Shared { get; } = new();

    /// <inheritdoc />
    /// <exception cref="ArgumentNullException"><paramref name="source"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options ask for an unknown pixel format or a non-positive pixel limit.</exception>
    /// <exception cref="NativeLibraryException">The image is a JPEG or WebP and the native library cannot be loaded.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public async ValueTask<ImageFrame> DecodeAsync(MediaSource source, ImageDecodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ValidateOptions(options);
        cancellationToken.ThrowIfCancellationRequested();
        var bytes = await source.ReadAllBytesAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return Decode(bytes.Span, options, source.MediaType);
    }

    /// <summary>Decodes one image held in memory.</summary>
    /// <param name="data">The encoded file.</param>
    /// <param name="options">Decoding options; <see langword="null"/> for the defaults.</param>
    /// <param name="mediaType">The declared media type, reported with errors when the format cannot be recognised.</param>
    /// <returns>The decoded pixels.</returns>
    /// <exception cref="InvalidMediaException">The data is corrupt, truncated, of an unsupported format, or over a limit.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The options ask for an unknown pixel format or a non-positive pixel limit.</exception>
    /// <exception cref="NativeLibraryException">The image is a JPEG or WebP and the native library cannot be loaded.</exception>
    public ImageFrame Decode(ReadOnlySpan<byte> data, ImageDecodeOptions? options = null, string? mediaType = null)
    {
        ValidateOptions(options);
        options ??= DefaultOptions;
        var format = DetectFormat(data);
        if (format is null)
        {
            throw new InvalidMediaException(
                data.IsEmpty
                    ? "Cannot decode the image: the data is empty."
                    : $"Cannot decode the image: the data is not a JPEG, PNG, WebP, GIF, BMP or TIFF file (it starts with {Convert.ToHexString(data[..Math.Min(8, data.Length)])}).",
                mediaType);
        }

        var context = new DecodeContext(options, format.Value.Name, format.Value.MediaType);
        try
        {
            int width, height, exifOrientation;
            byte[] pixels;
            switch (format.Value.Kind)
            {
                case FormatKind.Jpeg:
                    pixels = JpegCodec.Decode(data, context, out width, out height, out exifOrientation);
                    break;
                case FormatKind.WebP:
                    pixels = WebPCodec.Decode(data, context, out width, out height, out exifOrientation);
                    break;
                default:
                    var image = format.Value.Kind switch
                    {
                        FormatKind.Png => PngCodec.Decode(data, context),
                        FormatKind.Gif => GifCodec.Decode(data, context),
                        FormatKind.Bmp => BmpCodec.Decode(data, context),
                        _ => TiffCodec.Decode(data, context),
                    };
                    pixels = PillowConversion.Convert(image, options.Format);
                    (width, height) = (image.Width, image.Height);
                    exifOrientation = image.ExifOrientation;
                    if (image.LoadOrientation != 0)
                    {
                        pixels = Orientation.Apply(pixels, ref width, ref height, ImageFrame.BytesPerPixelOf(options.Format), image.LoadOrientation);
                        exifOrientation = 0;
                    }

                    break;
            }

            if (options.ApplyExifOrientation && exifOrientation != 0)
            {
                pixels = Orientation.Apply(pixels, ref width, ref height, ImageFrame.BytesPerPixelOf(options.Format), exifOrientation);
            }

            return new ImageFrame(width, height, options.Format, pixels);
        }
        catch (Exception ex) when (ex is InvalidDataException or OverflowException or EndOfStreamException or IndexOutOfRangeException or ArgumentException)
        {
            // zlib errors, checked arithmetic on hostile sizes, and (as a safety net) an index or argument a hostile
            // file drove out of range are data problems like any other: the caller gets InvalidMediaException.
            throw new InvalidMediaException($"Cannot decode the {format.Value.Name} image: {ex.Message}", format.Value.MediaType, ex);
        }
    }

    /// <summary>Sniffs the media type of an encoded image from its first bytes.</summary>
    /// <param name="data">The start of the file (16 bytes are enough).</param>
    /// <returns>The media type (for example <c>image/png</c>), or <see langword="null"/> when the format is not one this decoder reads.</returns>
    public static string? DetectMediaType(ReadOnlySpan<byte> data) => DetectFormat(data)?.MediaType;

    private static void ValidateOptions(ImageDecodeOptions? options)
    {
        if (options is null)
        {
            return;
        }

        if (!Enum.IsDefined(options.Format))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Format, "Unknown pixel format.");
        }

        if (options.MaxPixels <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.MaxPixels, "ImageDecodeOptions.MaxPixels must be positive.");
        }
    }

    private static ImageFormat? DetectFormat(ReadOnlySpan<byte> data)
    {
        if (JpegCodec.IsMatch(data))
        {
            return new(FormatKind.Jpeg, "JPEG", "image/jpeg");
        }

        if (PngCodec.IsMatch(data))
        {
            return new(FormatKind.Png, "PNG", "image/png");
        }

        if (WebPCodec.IsMatch(data))
        {
            return new(FormatKind.WebP, "WebP", "image/webp");
        }

        if (GifCodec.IsMatch(data))
        {
            return new(FormatKind.Gif, "GIF", "image/gif");
        }

        if (BmpCodec.IsMatch(data))
        {
            return new(FormatKind.Bmp, "BMP", "image/bmp");
        }

        if (TiffCodec.IsMatch(data))
        {
            return new(FormatKind.Tiff, "TIFF", "image/tiff");
        }

        return null;
    }

    private enum FormatKind
    {
        Jpeg,
        Png,
        WebP,
        Gif,
        Bmp,
        Tiff,
    }

    private readonly record struct ImageFormat(FormatKind Kind, string Name, string MediaType);
}
