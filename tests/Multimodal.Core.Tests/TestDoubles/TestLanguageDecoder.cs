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

    /// <summary>Gets the number of states created (including forks) and not yet disposed.</summary>
    public int LiveStates => Volatile.Read(ref _liveStates);

    /// <summary>Gets the largest number of live states seen at once.</summary>
    public int PeakLiveStates { get; private set; }

    private int _liveStates;

    public IDecoderState CreateState() => new State(this);

    private void Track(int delta)
    {
        var n = Interlocked.Add(ref _liveStates, delta);
        PeakLiveStates = Math.Max(PeakLiveStates, n);
    }

    public void Forward(IDecoderState state, DecoderInput input, Span<float> logits, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _forwardCalls);
        OnForward?.Invoke(input);
        lock (Inputs)
        {
            Inputs.Add(input);
        }

        var s = (State)state;
        ObjectDisposedException.ThrowIf(s.Disposed, s);
        ObjectDisposedException.ThrowIf(Disposed, this);
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
        private readonly TestLanguageDecoder _owner;

        public State(TestLanguageDecoder owner)
        {
            _owner = owner;
            owner.Track(+1);
        }

        public List<int> History { get; } = [];

        public int Length => History.Count;

        public bool Disposed { get; private set; }

        public void Truncate(int length)
        {
            ObjectDisposedException.ThrowIf(Disposed, this);
            History.RemoveRange(length, History.Count - length);
        }

        public IDecoderState Fork()
        {
            ObjectDisposedException.ThrowIf(Disposed, this);
            var copy = new State(_owner);
            copy.History.AddRange(History);
            return copy;
        }

        public void Dispose()
        {
            if (!Disposed)
            {
                Disposed = true;
                _owner.Track(-1);
            }
        }
    }
}
