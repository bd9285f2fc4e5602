// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>Turns a <see cref="DecoderInput"/> into the ids a graph embeds, for the ONNX Runtime and GenAI decoders.</summary>
internal static class DecoderInputIds
{
    /// <summary>Checks the input and returns one id per position, with <paramref name="placeholder"/> under every visual span.</summary>
    /// <param name="input">The input.</param>
    /// <param name="hiddenSize">The width every visual row must have.</param>
    /// <param name="vocabularySize">Ids not under a visual span must be below it.</param>
    /// <param name="placeholder">The id written under visual spans.</param>
    /// <returns>The ids.</returns>
    /// <exception cref="ArgumentException">A visual tensor is not <c>[rows, hiddenSize]</c>, or a text id is outside the vocabulary.</exception>
    public static int[] Resolve(DecoderInput input, int hiddenSize, int vocabularySize, int placeholder)
    {
        var ids = input.TokenIds.ToArray();
        var visual = input.VisualEmbeddings;
        var next = 0;
        for (var p = 0; p < ids.Length; p++)
        {
            if (next < visual.Count && p == visual[next].Offset)
            {
                var rows = visual[next].Embeddings;
                if (rows.Rank != 2 || rows.Dimension(1) != hiddenSize)
                {
                    throw new ArgumentException($"Visual embeddings must be [rows, {hiddenSize}] for this decoder; got {rows}.", nameof(input));
                }

                ids.AsSpan(p, rows.Dimension(0)).Fill(placeholder);
                p += rows.Dimension(0) - 1;
                next++;
                continue;
            }

            if ((uint)ids[p] >= (uint)vocabularySize)
            {
                throw new ArgumentException($"Token id {ids[p]} at position {p} is outside the vocabulary (0..{vocabularySize - 1}) and no visual embeddings cover it.", nameof(input));
            }
        }

        return ids;
    }
}
