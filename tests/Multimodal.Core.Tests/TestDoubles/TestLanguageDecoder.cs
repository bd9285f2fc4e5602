// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.TestDoubles;

/// <summary>
/// A deterministic decoder for tests. Its "KV cache" is the list of positions seen (text ids, or -1 for a visual
/// position); <see cref="NextLogits"/> computes the next-token logits from that history.
/// </summary>
public sealed class TestLanguageDecoder : ILanguageDecoder
{
    private int _forwardCalls;

    public TestLanguageDecoder(int vocabularySize, int contextLength = 4096, int hiddenSize = 8)
    {
        Metadata = new LanguageDecoderMetadata("test", vocabularySize, contextLength, hiddenSize);
    }

    /// <summary>Computes logits for the next token from the positions seen so far.</summary>
    public Func<IReadOnlyList<int>, float[]> NextLogits { get; set; } = _ => throw new InvalidOperationException("NextLogits not set.");

    /// <summary>Called at the start of every forward pass (before any work).</summary>
    public Action<DecoderInput>? OnForward { get; set; }

    public LanguageDecoderMetadata Metadata { get; }

    public int ForwardCalls => Volatile.Read(ref _forwardCalls);

    public List<DecoderInput> Inputs { get; } = [];

    public bool Disposed { get; private set; }

    public IDecoderState CreateState() => new State();

    public void Forward(IDecoderState state, DecoderInput input, Span<float> logits, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _forwardCalls);
        OnForward?.Invoke(input);
        lock (Inputs)
        {
            Inputs.Add(input);
        }

        var s = (State)state;
        if (s.History.Count + input.Length > Metadata.ContextLength)
        {
            throw new ContextLengthExceededException(s.History.Count + input.Length, Metadata.ContextLength);
        }

        var ids = input.TokenIds.Span;
        var visual = new bool[input.Length];
        foreach (var v in input.VisualEmbeddings)
        {
            for (var i = 0; i < v.Embeddings.Dimension(0); i++)
            {
                visual[v.Offset + i] = true;
            }
        }

        for (var i = 0; i < ids.Length; i++)
        {
            s.History.Add(visual[i] ? -1 : ids[i]);
        }

        var next = NextLogits(s.History);
        next.CopyTo(logits);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() => Disposed = true;

    /// <summary>Logits that put (almost) all mass on one token.</summary>
    public static float[] OneHot(int vocabularySize, int token, float value = 20f)
    {
        var l = new float[vocabularySize];
        l[token] = value;
        return l;
    }

    /// <summary>Logits equal to the log of the given probabilities (0 probabilities become -inf).</summary>
    public static float[] FromProbabilities(int vocabularySize, IReadOnlyDictionary<int, double> probabilities)
    {
        var l = Enumerable.Repeat(float.NegativeInfinity, vocabularySize).ToArray();
        foreach (var (id, p) in probabilities)
        {
            l[id] = (float)Math.Log(p);
        }

        return l;
    }

    public sealed class State : IDecoderState
    {
        public List<int> History { get; } = [];

        public int Length => History.Count;

        public bool Disposed { get; private set; }

        public void Truncate(int length) => History.RemoveRange(length, History.Count - length);

        public IDecoderState Fork()
        {
            var copy = new State();
            copy.History.AddRange(History);
            return copy;
        }

        public void Dispose() => Disposed = true;
    }
}
