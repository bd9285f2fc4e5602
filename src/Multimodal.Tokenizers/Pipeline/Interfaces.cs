// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>A piece of text between added tokens, flowing through normalization and pre-tokenization.</summary>
/// <param name="Text">The piece.</param>
/// <param name="StartsAtOrigin">Whether the piece begins at offset 0 of the original input (Metaspace's "first" prepend scheme needs this).</param>
internal readonly record struct TextPiece(string Text, bool StartsAtOrigin);

/// <summary>Rewrites text before it is split (Unicode normalization, lowercasing, replacements).</summary>
internal interface INormalizer
{
    /// <summary>Returns the normalized text.</summary>
    string Normalize(string text);
}

/// <summary>Splits text into words the model tokenizes independently.</summary>
internal interface IPreTokenizer
{
    /// <summary>Replaces each piece of <paramref name="pieces"/> by its splits, in order.</summary>
    void PreTokenize(List<TextPiece> pieces);
}

/// <summary>The vocabulary model: turns one pre-tokenized word into ids.</summary>
internal interface ITokenizerModel
{
    /// <summary>Gets one more than the largest id of the model's vocabulary.</summary>
    int VocabularySize { get; }

    /// <summary>Appends the ids of one word.</summary>
    void Encode(string word, List<int> ids);

    /// <summary>Returns the id of a vocabulary entry.</summary>
    int? TokenToId(string token);

    /// <summary>Returns the vocabulary entry of an id.</summary>
    string? IdToToken(int id);
}

/// <summary>Adds special tokens around an encoding (TemplateProcessing and friends).</summary>
internal interface IPostProcessor
{
    /// <summary>Returns the ids with the template applied to a single sequence.</summary>
    List<int> ProcessSingle(List<int> ids);

    /// <summary>Returns the ids with the template applied to a pair of sequences.</summary>
    List<int> ProcessPair(List<int> first, List<int> second);
}

/// <summary>Turns token strings back into text; a chain of decoders transforms the list step by step.</summary>
internal interface ITokenDecoder
{
    /// <summary>Transforms the token strings (Hugging Face's <c>decode_chain</c>).</summary>
    List<string> DecodeChain(List<string> tokens);
}
