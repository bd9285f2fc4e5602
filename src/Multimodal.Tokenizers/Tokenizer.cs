// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>A tokenizer loaded from a Hugging Face <c>tokenizer.json</c> or a SentencePiece <c>.model</c> file, giving the same ids as the reference implementations.</summary>
/// <remarks>
/// <para>Encoding follows the reference pipeline: added tokens are found first (leftmost, longest), the text between them
/// is normalized and pre-tokenized, the model (BPE, Unigram or WordLevel) turns each word into ids, and the
/// post-processor adds special tokens when asked.</para>
/// <para>Instances are immutable and thread-safe. Load them once and share them.</para>
/// <code>
/// var tokenizer = Tokenizer.Load("models/qwen2");           // a folder, tokenizer.json or tokenizer.model
/// int[] ids = tokenizer.Encode("Describe the image.");
/// string text = tokenizer.Decode(ids, skipSpecialTokens: true);
/// </code>
/// </remarks>
public sealed class Tokenizer : ITokenizer
{
    private readonly TokenizerPipeline _pipeline;

    internal Tokenizer(TokenizerPipeline pipeline)
    {
        _pipeline = pipeline;
        VocabularySize = pipeline.VocabularySize;
        SpecialTokens = pipeline.SpecialTokens;
    }

    /// <summary>Gets the file the tokenizer was loaded from.</summary>
    public string Source => _pipeline.Source;

    /// <summary>Gets the kind of tokenizer (for example <c>BPE</c>, <c>Unigram</c>, <c>SentencePiece BPE</c>).</summary>
    public string ModelType => _pipeline.ModelType;

    /// <inheritdoc />
    public int VocabularySize { get; }

    /// <inheritdoc />
    public SpecialTokens SpecialTokens { get; }

    /// <summary>Gets the added tokens (special tokens and tokens added on top of the vocabulary).</summary>
    public IReadOnlyList<AddedToken> AddedTokens => _pipeline.AddedTokens;

    /// <summary>Gets the chat template from <c>tokenizer_config.json</c>, if any (families format prompts themselves; this is informational).</summary>
    public string? ChatTemplate => _pipeline.ChatTemplate;

    /// <summary>Gets the text of the beginning-of-sequence token, if any.</summary>
    public string? BosToken => SpecialTokens.BosTokenId is { } id ? IdToToken(id) : null;

    /// <summary>Gets the text of the (first) end-of-sequence token, if any.</summary>
    public string? EosToken => SpecialTokens.EosTokenIds.Count > 0 ? IdToToken(SpecialTokens.EosTokenIds[0]) : null;

    /// <summary>Loads a tokenizer from a folder (preferring <c>tokenizer.json</c>, else <c>tokenizer.model</c>) or from either file.</summary>
    /// <param name="path">A model folder, a <c>tokenizer.json</c> or a SentencePiece <c>.model</c> file.</param>
    /// <returns>The tokenizer.</returns>
    /// <exception cref="ModelLoadException">The path has no tokenizer, or the file is malformed; the message names the file and the problem.</exception>
    public static Tokenizer Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            var json = Path.Combine(full, "tokenizer.json");
            var model = Path.Combine(full, "tokenizer.model");
            if (File.Exists(json))
            {
                return new Tokenizer(TokenizerJsonLoader.Load(json));
            }

            if (File.Exists(model))
            {
                return new Tokenizer(SentencePiecePipeline.Load(model));
            }

            throw new ModelLoadException($"'{full}' has neither tokenizer.json nor tokenizer.model.", full);
        }

        if (!File.Exists(full))
        {
            throw new ModelLoadException($"Tokenizer file '{full}' does not exist.", full);
        }

        return full.EndsWith(".json", StringComparison.OrdinalIgnoreCase)
            ? new Tokenizer(TokenizerJsonLoader.Load(full))
            : new Tokenizer(SentencePiecePipeline.Load(full));
    }

    /// <inheritdoc />
    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        return [.. _pipeline.Encode(text, addSpecialTokens)];
    }

    /// <summary>Encodes a pair of texts with the post-processor's pair template (for example BOS A BOS B).</summary>
    /// <param name="first">Sequence A.</param>
    /// <param name="second">Sequence B.</param>
    /// <param name="addSpecialTokens">Whether to apply the pair template.</param>
    /// <returns>The ids.</returns>
    public int[] EncodePair(string first, string second, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(first);
        ArgumentNullException.ThrowIfNull(second);
        return [.. _pipeline.EncodePair(first, second, addSpecialTokens)];
    }

    /// <inheritdoc />
    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null) =>
        _pipeline.Decode(ids, skipSpecialTokens, cleanUpTokenizationSpaces);

    /// <inheritdoc />
    public int? TokenToId(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return _pipeline.TokenToId(token);
    }

    /// <inheritdoc />
    public string? IdToToken(int id) => _pipeline.IdToToken(id);

    /// <inheritdoc />
    public override string ToString() => $"Tokenizer {ModelType}, {VocabularySize} ids, from '{Source}'";
}
