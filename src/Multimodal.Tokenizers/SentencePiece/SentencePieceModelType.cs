// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>The segmentation algorithm of a SentencePiece model (<c>TrainerSpec.model_type</c>); values are the proto's.</summary>
internal enum SentencePieceModelType
{
    /// <summary>Unigram language model: the best-scoring segmentation by Viterbi.</summary>
    Unigram = 1,

    /// <summary>Byte-pair encoding driven by piece scores.</summary>
    Bpe = 2,
}
