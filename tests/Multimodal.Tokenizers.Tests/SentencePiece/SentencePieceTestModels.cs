// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>The committed SentencePiece test models (tests/data/tokenizers/sentencepiece), loaded once.</summary>
internal static class SentencePieceTestModels
{
    private static readonly Lazy<SentencePieceProcessor> s_bpe = new(() => SentencePieceProcessor.Load(PathOf("bpe")));
    private static readonly Lazy<SentencePieceProcessor> s_unigram = new(() => SentencePieceProcessor.Load(PathOf("unigram")));

    /// <summary>Gets the folder of the models and their goldens.</summary>
    public static string Folder => Path.Combine(TestData.Folder, "sentencepiece");

    /// <summary>Gets the BPE model (byte fallback, identity normalization, user-defined symbols).</summary>
    public static SentencePieceProcessor Bpe => s_bpe.Value;

    /// <summary>Gets the Unigram model (nmt_nfkc charsmap, split digits, no byte fallback).</summary>
    public static SentencePieceProcessor Unigram => s_unigram.Value;

    /// <summary>Returns the path of model <paramref name="name"/>.</summary>
    public static string PathOf(string name) => Path.Combine(Folder, name + ".model");

    /// <summary>Returns model <paramref name="name"/> ("bpe" or "unigram").</summary>
    public static SentencePieceProcessor Load(string name) => name switch
    {
        "bpe" => Bpe,
        "unigram" => Unigram,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "Unknown test model."),
    };
}
