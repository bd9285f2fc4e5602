// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;
using Multimodal.Media.Images.Codecs;
using Xunit.Abstractions;

namespace Multimodal.Media.Images;

/// <summary>Thousands of random truncations, bit flips and byte overwrites of every test file only ever decode or throw <see cref="InvalidMediaException"/>.</summary>
public sealed class ImageDecoderFuzzTests(ITestOutputHelper output)
{
    private const int MutationsPerFile = 2000;

    // A small limit keeps hostile headers from allocating much while fuzzing.
    private static readonly ImageDecodeOptions Options = new() { MaxPixels = 1 << 20 };

    public static TheoryData<string> Files => TestData.Files(g => !g.File.StartsWith("perf_", StringComparison.Ordinal));

    [Theory]
    [MemberData(nameof(Files))]
    public void MutatedFiles_DecodeOrThrowInvalidMedia(string file)
    {
        var original = TestData.Read(file);
        // A stable seed per file (string.GetHashCode is randomised per process), so a failure can be replayed.
        var seed = file.Aggregate(20251122, (h, c) => unchecked((h * 31) + c)) & 0x7FFFFFFF;
        var random = new Random(seed);
        var decoder = new ImageDecoder();
        int decoded = 0, rejected = 0;
        for (var i = 0; i < MutationsPerFile; i++)
        {
            var mutant = Mutate(original, random, i);
            var format = (ImagePixelFormat)(i % 3);
            try
            {
                var frame = decoder.Decode(mutant, new ImageDecodeOptions { MaxPixels = Options.MaxPixels, Format = format, ApplyExifOrientation = (i & 4) != 0 });
                Assert.True(frame.Width > 0 && frame.Height > 0);
                decoded++;
            }
            catch (Exception ex) when (ex is not InvalidMediaException and not Xunit.Sdk.XunitException)
            {
                throw new Xunit.Sdk.XunitException($"{file}, seed {seed}, mutation {i} ({mutant.Length} bytes): unexpected {ex}");
            }
            catch (InvalidMediaException ex)
            {
                Assert.False(string.IsNullOrWhiteSpace(ex.Message));
                // Once the format is recognised, the error names it; before that, it carries the declared type (none here).
                Assert.Equal(ImageDecoder.DetectMediaType(mutant), ex.MediaType);
                rejected++;
            }
        }

        output.WriteLine($"{file}: {decoded} decoded, {rejected} rejected");
    }

    private static byte[] Mutate(byte[] original, Random random, int i)
    {
        switch (i % 4)
        {
            case 0:
                // Truncation anywhere, including inside the signature.
                return original[..random.Next(0, original.Length)];
            case 1:
            {
                // 1-8 bit flips.
                var copy = (byte[])original.Clone();
                for (var k = random.Next(1, 9); k > 0; k--)
                {
                    copy[random.Next(copy.Length)] ^= (byte)(1 << random.Next(8));
                }

                return copy;
            }

            case 2:
            {
                // Overwrite a run of bytes with random or extreme values (often hits sizes and lengths).
                var copy = (byte[])original.Clone();
                var at = random.Next(copy.Length);
                var len = Math.Min(random.Next(1, 5), copy.Length - at);
                var fill = random.Next(3);
                for (var k = 0; k < len; k++)
                {
                    copy[at + k] = fill switch { 0 => 0, 1 => 0xFF, _ => (byte)random.Next(256) };
                }

                return copy;
            }

            default:
            {
                // Flip bits after the header, then repair PNG chunk CRCs so the damage reaches the inflater and unfilter.
                var copy = (byte[])original.Clone();
                for (var k = random.Next(1, 4); k > 0; k--)
                {
                    var at = random.Next(Math.Min(16, copy.Length), copy.Length);
                    copy[at] ^= (byte)(1 << random.Next(8));
                }

                RepairPngCrcs(copy);
                return copy;
            }
        }
    }

    private static void RepairPngCrcs(byte[] png)
    {
        if (!PngCodec.IsMatch(png))
        {
            return;
        }

        var pos = 8;
        while (pos + 12 <= png.Length)
        {
            var length = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(pos));
            if (length > png.Length - pos - 12)
            {
                return;
            }

            BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan(pos + 8 + (int)length), Crc32.Compute(png.AsSpan(pos + 4, 4 + (int)length)));
            pos += 12 + (int)length;
        }
    }
}
