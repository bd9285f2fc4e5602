// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Runtime.CompilerServices;

namespace Multimodal.Tokenizers;

/// <summary>UTF-8 helpers that reproduce SentencePiece's <c>string_util</c> functions bit for bit.</summary>
internal static class SentencePieceUtf8
{
    /// <summary>Gets U+2581 (LOWER ONE EIGHTH BLOCK), SentencePiece's escaped space, in UTF-8.</summary>
    public static ReadOnlySpan<byte> SpaceSymbol => [0xE2, 0x96, 0x81];

    /// <summary>Gets U+FFFD (REPLACEMENT CHARACTER) in UTF-8.</summary>
    public static ReadOnlySpan<byte> ReplacementCharacter => [0xEF, 0xBF, 0xBD];

    /// <summary>Gets the default decoded surface of the unknown piece, " ⁇ " (U+2047 between spaces).</summary>
    public static ReadOnlySpan<byte> DefaultUnknownSurface => [0x20, 0xE2, 0x81, 0x87, 0x20];

    /// <summary>The length of the character that starts with <paramref name="lead"/>, judged by its high nibble only (<c>OneCharLen</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int OneCharLength(byte lead) => (lead >> 4) switch
    {
        < 0xC => 1,
        < 0xE => 2,
        0xE => 3,
        _ => 4,
    };

    /// <summary>Decodes one character like SentencePiece's <c>IsValidDecodeUTF8</c>: invalid input consumes one byte.</summary>
    /// <param name="input">Non-empty input.</param>
    /// <param name="length">The bytes consumed (1 for an invalid sequence).</param>
    /// <returns>Whether the sequence is valid (a literal U+FFFD counts as valid).</returns>
    public static bool TryDecode(ReadOnlySpan<byte> input, out int length)
    {
        var b0 = input[0];
        length = 1;
        if (b0 < 0x80)
        {
            return true;
        }

        if (input.Length >= 2 && (b0 & 0xE0) == 0xC0)
        {
            var cp = ((b0 & 0x1F) << 6) | (input[1] & 0x3F);
            if (IsTrail(input[1]) && cp >= 0x80)
            {
                length = 2;
                return true;
            }
        }
        else if (input.Length >= 3 && (b0 & 0xF0) == 0xE0)
        {
            var cp = ((b0 & 0x0F) << 12) | ((input[1] & 0x3F) << 6) | (input[2] & 0x3F);
            if (IsTrail(input[1]) && IsTrail(input[2]) && cp >= 0x800 && IsValidCodePoint(cp))
            {
                length = 3;
                return true;
            }
        }
        else if (input.Length >= 4 && (b0 & 0xF8) == 0xF0)
        {
            var cp = ((b0 & 0x07) << 18) | ((input[1] & 0x3F) << 12) | ((input[2] & 0x3F) << 6) | (input[3] & 0x3F);
            if (IsTrail(input[1]) && IsTrail(input[2]) && IsTrail(input[3]) && cp >= 0x10000 && IsValidCodePoint(cp))
            {
                length = 4;
                return true;
            }
        }

        return false;
    }

    /// <summary>Converts text to UTF-8 in a buffer rented from the shared pool (lone surrogates become U+FFFD).</summary>
    /// <param name="text">The text.</param>
    /// <param name="length">The number of bytes written.</param>
    /// <returns>The rented buffer; the caller returns it to <see cref="ArrayPool{T}.Shared"/>.</returns>
    public static byte[] RentUtf8(ReadOnlySpan<char> text, out int length)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(16, System.Text.Encoding.UTF8.GetMaxByteCount(text.Length)));
        length = System.Text.Encoding.UTF8.GetBytes(text, buffer);
        return buffer;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsTrail(byte b) => (b & 0xC0) == 0x80;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool IsValidCodePoint(int cp) => cp < 0xD800 || (cp >= 0xE000 && cp <= 0x10FFFF);
}

/// <summary>A growable UTF-8 byte buffer rented from <see cref="ArrayPool{T}.Shared"/>; pass by reference and dispose once.</summary>
internal struct SentencePieceByteBuilder : IDisposable
{
    private byte[] _buffer;

    /// <summary>Initializes a builder with room for <paramref name="capacity"/> bytes.</summary>
    public SentencePieceByteBuilder(int capacity)
    {
        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(capacity, 16));
        Length = 0;
    }

    /// <summary>Gets or sets the number of bytes written; setting it truncates.</summary>
    public int Length { get; set; }

    /// <summary>Gets the bytes written.</summary>
    public readonly ReadOnlySpan<byte> Written => _buffer.AsSpan(0, Length);

    /// <summary>Appends one byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Append(byte value)
    {
        if (Length == _buffer.Length)
        {
            Grow(1);
        }

        _buffer[Length++] = value;
    }

    /// <summary>Appends bytes.</summary>
    public void Append(ReadOnlySpan<byte> value)
    {
        if (_buffer.Length - Length < value.Length)
        {
            Grow(value.Length);
        }

        value.CopyTo(_buffer.AsSpan(Length));
        Length += value.Length;
    }

    /// <summary>Returns the buffer to the pool.</summary>
    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        Length = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void Grow(int needed)
    {
        var next = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, Length + needed));
        _buffer.AsSpan(0, Length).CopyTo(next);
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = next;
    }
}
