// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using Multimodal.Imaging;
using Multimodal.Media.Images;

namespace Multimodal.Cli;

/// <summary><c>multimodal image resize</c>: Pillow-exact resizing, written as a NumPy <c>.npy</c> array.</summary>
internal static class ImageCommands
{
    public static Command Create(TextWriter output)
    {
        var image = new Option<FileInfo>("--image", "-i") { Description = "The input: an image file (JPEG, PNG, WebP, BMP, GIF, TIFF) or a uint8 .npy array (H×W×3, H×W×4 or H×W).", Required = true };
        var width = new Option<int>("--width") { Description = "The output width in pixels.", Required = true };
        var height = new Option<int>("--height") { Description = "The output height in pixels.", Required = true };
        var filter = new Option<string>("--filter") { Description = "nearest, box, bilinear, hamming, bicubic (default) or lanczos.", DefaultValueFactory = _ => "bicubic" };
        filter.AcceptOnlyFromAmong("nearest", "box", "bilinear", "hamming", "bicubic", "lanczos");
        var outFile = new Option<FileInfo>("--out", "-o") { Description = "The output .npy file (uint8, H×W×C, C order).", Required = true };
        var resize = new Command("resize", "Resize an image exactly as Pillow's Image.resize does and write the pixels as .npy.") { image, width, height, filter, outFile };
        resize.SetAction(async (parse, cancellationToken) =>
        {
            var w = parse.GetValue(width);
            var h = parse.GetValue(height);
            if (w <= 0 || h <= 0)
            {
                throw new ArgumentException($"--width and --height must be positive (got {w}x{h}).");
            }

            var frame = await LoadAsync(parse.GetRequiredValue(image), cancellationToken).ConfigureAwait(false);
            var resized = ImageOperations.Resize(frame, w, h, Enum.Parse<ResampleFilter>(parse.GetRequiredValue(filter), ignoreCase: true));
            var path = parse.GetRequiredValue(outFile).FullName;
            using (var stream = File.Create(path))
            {
                if (resized.BytesPerPixel == 1)
                {
                    NpyFormat.Write(stream, resized.Pixels.Span, resized.Height, resized.Width);
                }
                else
                {
                    NpyFormat.Write(stream, resized.Pixels.Span, resized.Height, resized.Width, resized.BytesPerPixel);
                }
            }

            await output.WriteLineAsync($"{frame.Width}x{frame.Height} -> {resized.Width}x{resized.Height} ({parse.GetRequiredValue(filter)}) written to {path}").ConfigureAwait(false);
            return 0;
        });

        return new Command("image", "Image operations with Pillow's exact semantics.") { resize };
    }

    /// <summary>Loads an image file through the decoder, or a uint8 .npy array.</summary>
    internal static async Task<ImageFrame> LoadAsync(FileInfo file, CancellationToken cancellationToken)
    {
        if (!file.Exists)
        {
            throw new ArgumentException($"Image file '{file.FullName}' does not exist.");
        }

        if (file.Extension.Equals(".npy", StringComparison.OrdinalIgnoreCase))
        {
            using var stream = file.OpenRead();
            var (dtype, shape, data) = NpyFormat.Read(stream);
            if (dtype is not ("|u1" or "<u1") || shape.Length is not (2 or 3) || (shape.Length == 3 && shape[2] is not (3 or 4)))
            {
                throw new FormatException($"'{file.FullName}' must be a uint8 array of shape H×W, H×W×3 or H×W×4; it is {dtype} [{string.Join(", ", shape)}].");
            }

            var format = shape.Length == 2 ? ImagePixelFormat.Gray8 : shape[2] == 3 ? ImagePixelFormat.Rgb24 : ImagePixelFormat.Rgba32;
            return new ImageFrame(shape[1], shape[0], format, data);
        }

        return await new ImageDecoder().DecodeAsync(MediaSource.FromFile(file.FullName), null, cancellationToken).ConfigureAwait(false);
    }
}
