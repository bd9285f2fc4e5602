// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>Reduces a sequence of visual tokens: ToMe bipartite merging (AuroraCap), 2×2 pooling (LongVA), or identity.</summary>
/// <remarks>
/// <para>A merger is a stateless parameter object. It first makes a <see cref="TokenMergePlan"/> from the
/// token layout and an optional similarity metric, then the plan is applied to any tensor that has one row
/// per token. That split lets an encoder plan on attention keys and merge hidden states inside a layer (as
/// AuroraCap does), and lets the pipeline merge any family's output after the encoder (metric = the tokens).</para>
/// <para>Thread-safety: instances are immutable and may be shared.</para>
/// </remarks>
public interface ITokenMerger
{
    /// <summary>Decides which tokens merge.</summary>
    /// <param name="request">The token layout and the similarity metric.</param>
    /// <returns>A plan that can be applied to tensors with <see cref="TokenMergeRequest.TokenCount"/> rows.</returns>
    TokenMergePlan Plan(TokenMergeRequest request);
}

/// <summary>What a token merger plans from.</summary>
public sealed class TokenMergeRequest
{
    /// <summary>Initializes a request.</summary>
    /// <param name="tokenCount">The number of tokens (rows).</param>
    /// <param name="gridHeight">The spatial grid height, or 0 when the tokens have no grid.</param>
    /// <param name="gridWidth">The spatial grid width, or 0 when the tokens have no grid.</param>
    public TokenMergeRequest(int tokenCount, int gridHeight = 0, int gridWidth = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(tokenCount);
        ArgumentOutOfRangeException.ThrowIfNegative(gridHeight);
        ArgumentOutOfRangeException.ThrowIfNegative(gridWidth);
        if ((long)gridHeight * gridWidth > tokenCount)
        {
            throw new ArgumentException($"A {gridHeight}x{gridWidth} grid needs {gridHeight * gridWidth} tokens; only {tokenCount} were given.", nameof(gridHeight));
        }

        TokenCount = tokenCount;
        GridHeight = gridHeight;
        GridWidth = gridWidth;
    }

    /// <summary>Gets the number of tokens.</summary>
    public int TokenCount { get; }

    /// <summary>Gets the spatial grid height (0 when none).</summary>
    public int GridHeight { get; }

    /// <summary>Gets the spatial grid width (0 when none).</summary>
    public int GridWidth { get; }

    /// <summary>Gets or sets how many leading tokens are protected from merging (for example a CLS token).</summary>
    public int ProtectedPrefix { get; set; }

    /// <summary>Gets or sets the similarity metric, <c>[TokenCount, d]</c> (for example attention keys); <see langword="null"/> means mergers that need one use the tokens themselves.</summary>
    public DenseTensor<float>? Metric { get; set; }

    /// <summary>Gets or sets the current size (number of original tokens) each token stands for, or <see langword="null"/> when all are 1.</summary>
    public float[]? Sizes { get; set; }

    /// <summary>Gets or sets the index of the encoder layer when planning inside an encoder, or -1 after it.</summary>
    public int LayerIndex { get; set; } = -1;
}

/// <summary>A merge decided by <see cref="ITokenMerger.Plan"/>; apply it to tensors with one row per input token.</summary>
public abstract class TokenMergePlan
{
    /// <summary>Initializes a plan.</summary>
    /// <param name="inputCount">Rows before merging.</param>
    /// <param name="outputCount">Rows after merging.</param>
    protected TokenMergePlan(int inputCount, int outputCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(outputCount);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(outputCount, inputCount);
        InputCount = inputCount;
        OutputCount = outputCount;
    }

    /// <summary>Gets the number of rows before merging.</summary>
    public int InputCount { get; }

    /// <summary>Gets the number of rows after merging.</summary>
    public int OutputCount { get; }

    /// <summary>Gets the output grid height, or 0 when the output has no grid.</summary>
    public virtual int OutputGridHeight => 0;

    /// <summary>Gets the output grid width, or 0 when the output has no grid.</summary>
    public virtual int OutputGridWidth => 0;

    /// <summary>Gets how many original tokens each output row stands for, when the plan tracks sizes (ToMe's
    /// size-weighted merge feeds them to the next layer's plan); <see langword="null"/> otherwise.</summary>
    public virtual IReadOnlyList<float>? OutputSizes => null;

    /// <summary>Merges the rows of a tensor.</summary>
    /// <param name="tokens">A tensor <c>[InputCount, d]</c>.</param>
    /// <param name="sizes">The per-row sizes for size-weighted averaging, or <see langword="null"/> for equal weights; updated to the merged sizes when the plan tracks them.</param>
    /// <returns>A tensor <c>[OutputCount, d]</c>.</returns>
    /// <exception cref="ArgumentException">The tensor does not have <see cref="InputCount"/> rows.</exception>
    public DenseTensor<float> Apply(DenseTensor<float> tokens, float[]? sizes = null)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (tokens.Rank != 2 || tokens.Dimension(0) != InputCount)
        {
            throw new ArgumentException($"The plan merges {InputCount} rows; the tensor is {tokens}.", nameof(tokens));
        }

        var width = tokens.Dimension(1);
        var output = new DenseTensor<float>(OutputCount, width);
        ApplyCore(tokens.Span, width, output.Span, sizes);
        return output;
    }

    /// <summary>Writes the merged rows.</summary>
    /// <param name="source">The input rows, <see cref="InputCount"/> × <paramref name="width"/>.</param>
    /// <param name="width">The row width.</param>
    /// <param name="destination">The output rows, <see cref="OutputCount"/> × <paramref name="width"/>.</param>
    /// <param name="sizes">Per-row sizes, or <see langword="null"/>.</param>
    protected abstract void ApplyCore(ReadOnlySpan<float> source, int width, Span<float> destination, float[]? sizes);
}
