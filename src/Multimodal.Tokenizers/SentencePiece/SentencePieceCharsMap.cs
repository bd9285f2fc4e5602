// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers.Binary;

namespace Multimodal.Tokenizers;

/// <summary>A <c>precompiled_charsmap</c>: a Darts-clone double-array trie of source strings and the NUL-terminated replacement strings it points into.</summary>
/// <remarks>
/// Blob layout (little-endian): <c>uint32 trie_size</c>, <c>trie_size</c> bytes of 32-bit Darts-clone units, then
/// the replacement strings. A unit packs <c>has_leaf</c> (bit 8), <c>label</c> (bits 0-7, bit 31 set on leaf units),
/// the leaf <c>value</c> (bits 0-30) and the XOR <c>offset</c> to its children (bits 10-31, shifted left by 8 when
/// bit 9 is set). Lookups follow darts.h's <c>commonPrefixSearch</c> exactly, keeping the longest match, as
/// SentencePiece's <c>Normalizer::NormalizePrefix</c> does. Thread-safe (immutable).
/// </remarks>
internal sealed class SentencePieceCharsMap
{
    private readonly uint[] _units;
    private readonly byte[] _normalized;

    private SentencePieceCharsMap(uint[] units, byte[] normalized)
    {
        _units = units;
        _normalized = normalized;
    }

    /// <summary>Decodes and validates a blob.</summary>
    /// <param name="blob">The <c>precompiled_charsmap</c> bytes (not empty).</param>
    /// <returns>The map.</returns>
    /// <exception cref="InvalidDataException">The blob is not a well-formed charsmap.</exception>
    public static SentencePieceCharsMap Parse(ReadOnlySpan<byte> blob)
    {
        if (blob.Length <= 4)
        {
            throw new InvalidDataException($"precompiled_charsmap is {blob.Length} bytes, too short to hold a trie");
        }

        var trieSize = BinaryPrimitives.ReadUInt32LittleEndian(blob);
        if (trieSize >= (uint)blob.Length || trieSize > (uint)(blob.Length - 4))
        {
            throw new InvalidDataException($"precompiled_charsmap claims a {trieSize}-byte trie but holds only {blob.Length - 4} bytes after the size");
        }

        if (trieSize % 4 != 0 || trieSize == 0)
        {
            throw new InvalidDataException($"precompiled_charsmap trie size {trieSize} is not a positive multiple of 4");
        }

        var units = new uint[trieSize / 4];
        for (var i = 0; i < units.Length; i++)
        {
            units[i] = BinaryPrimitives.ReadUInt32LittleEndian(blob.Slice(4 + (i * 4), 4));
        }

        var normalized = blob[(4 + (int)trieSize)..].ToArray();

        // Every leaf unit must point inside the replacement strings, so lookups never read out of range.
        foreach (var unit in units)
        {
            if ((unit & 0x80000000u) != 0 && (unit & 0x7FFFFFFFu) >= (uint)normalized.Length)
            {
                throw new InvalidDataException($"precompiled_charsmap has a rule pointing at byte {unit & 0x7FFFFFFFu} of {normalized.Length} bytes of replacement strings");
            }
        }

        return new SentencePieceCharsMap(units, normalized);
    }

    /// <summary>Finds the longest source string that is a prefix of <paramref name="input"/>.</summary>
    /// <param name="input">The remaining input (UTF-8).</param>
    /// <param name="replacement">The replacement string (without its NUL); empty when nothing matched or the rule deletes.</param>
    /// <returns>The length of the matched prefix in bytes, or 0 when no rule matches.</returns>
    public int LongestPrefix(ReadOnlySpan<byte> input, out ReadOnlySpan<byte> replacement)
    {
        replacement = default;
        var units = _units;
        var longest = 0;
        var longestValue = 0;

        var nodePos = Offset(units[0]);
        for (var i = 0; i < input.Length; i++)
        {
            var c = input[i];
            nodePos ^= c;
            if (nodePos >= (uint)units.Length)
            {
                break;
            }

            var unit = units[nodePos];
            if ((unit & 0x800000FFu) != c)
            {
                break;
            }

            nodePos ^= Offset(unit);
            if (((unit >> 8) & 1) == 1)
            {
                if (nodePos >= (uint)units.Length)
                {
                    break;
                }

                // The matches come in increasing length, so the last one is the longest.
                longest = i + 1;
                longestValue = (int)(units[nodePos] & 0x7FFFFFFFu);
            }
        }

        if (longest > 0)
        {
            var rest = _normalized.AsSpan(longestValue);
            var end = rest.IndexOf((byte)0);
            replacement = end < 0 ? rest : rest[..end];
        }

        return longest;
    }

    private static uint Offset(uint unit) => (unit >> 10) << (int)((unit & (1u << 9)) >> 6);
}
