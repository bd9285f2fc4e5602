// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.TestDoubles;

/// <summary>Decodes binary PPM (P6, maxval 255) images, enough to drive the pipeline in tests.</summary>
public sealed class TestImageDecoder : IImageDecoder
{
    public int Calls { get; private set; }

    public static byte[] EncodePpm(int width, int height, Func<int, int, (byte R, byte G, byte B)> pixel)
    {
        var header = Encoding.ASCII.GetBytes($"P6\n{width} {height}\n255\n");
        var data = new byte[header.Length + (width * height * 3)];
        header.CopyTo(data, 0);
        var i = header.Length;
        for (var y = 0; y < height; y++)
        {
            for (var x = 0; x < width; x++)
            {
                var (r, g, b) = pixel(x, y);
                data[i++] = r;
                data[i++] = g;
                data[i++] = b;
            }
        }

        return data;
    }

    public async ValueTask<ImageFrame> DecodeAsync(MediaSource source, ImageDecodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls++;
        var bytes = (await source.ReadAllBytesAsync(cancellationToken)).ToArray();
        var text = Encoding.ASCII.GetString(bytes, 0, Math.Min(bytes.Length, 32));
        var parts = text.Split((char[])['\n', ' '], 5);
        if (parts.Length < 5 || parts[0] != "P6" || parts[3] != "255")
        {
            throw new InvalidMediaException("Not a binary PPM image.", source.MediaType);
        }

        var w = int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture);
        var h = int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture);
        var headerLength = $"P6\n{w} {h}\n255\n".Length;
        if (bytes.Length < headerLength + (w * h * 3))
        {
            throw new InvalidMediaException($"The PPM image is truncated: {w}x{h} needs {w * h * 3} pixel bytes.", source.MediaType);
        }

        return new ImageFrame(w, h, ImagePixelFormat.Rgb24, bytes.AsMemory(headerLength, w * h * 3));
    }
}
