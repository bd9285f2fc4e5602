// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Backends.OnnxRuntime;
using Multimodal.Backends.OnnxRuntimeGenAI.Native;

namespace Multimodal.Backends.OnnxRuntimeGenAI;

/// <summary>
/// An <see cref="ILanguageDecoder"/> whose forward passes run in ONNX Runtime GenAI: a generator per state, fed with
/// <c>SetInputs</c> (ids, and the visual rows as the pass-through vision graph's pixel values) for a prefill and
/// <c>AppendTokens</c> for each chosen token; logits read back with <c>GetLogits</c>. Sampling stays in the pipeline,
/// so every backend samples identically.
/// </summary>
/// <remarks>
/// <para>GenAI applies images once per generator and cannot rewind a multimodal cache to an earlier point (see
/// docs/backends.md). So a state keeps its token history and visual rows, and rebuilds its generator with one prefill
/// of the whole history when a later input carries images or after <see cref="IDecoderState.Truncate"/> to a shorter
/// length. Text-only turns extend the live generator.</para>
/// <para>GenAI's C API is not thread-safe and does not promise that generators of one model may run on parallel threads,
/// so every GenAI call of a decoder (all its states) is serialised. Cancellation is checked between calls, never through
/// GenAI's <c>terminate_session</c> option, which can abort the process.</para>
/// </remarks>
internal sealed class GenAILanguageDecoder : ILanguageDecoder
{
    private readonly GenAiModel _model;
    private readonly int _placeholder;
    private readonly Lock _gate = new();
    private int _disposed;

    public GenAILanguageDecoder(GenAiModel model, int vocabularySize, int contextLength, int hiddenSize, string providerName)
    {
        _model = model;
        _placeholder = vocabularySize;
        Metadata = new LanguageDecoderMetadata(providerName, vocabularySize, contextLength, hiddenSize);
    }

    public LanguageDecoderMetadata Metadata { get; }

    public IDecoderState CreateState()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return new State(this);
    }

    public void Forward(IDecoderState state, DecoderInput input, Span<float> logits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(input);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (state is not State s || s.Owner != this)
        {
            throw new ArgumentException("The state was not created by this decoder.", nameof(state));
        }

        if (input.Length == 0)
        {
            throw new ArgumentException("The input has no positions.", nameof(input));
        }

        if (logits.Length < Metadata.VocabularySize)
        {
            throw new ArgumentException($"The logits buffer holds {logits.Length} values; {Metadata.VocabularySize} are needed.", nameof(logits));
        }

        var total = s.Length + input.Length;
        if (total > Metadata.ContextLength)
        {
            throw new ContextLengthExceededException(total, Metadata.ContextLength, input.VisualEmbeddings.Sum(v => v.Embeddings.Dimension(0)));
        }

        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            s.Forward(input, logits);
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType == typeof(LanguageDecoderMetadata) ? Metadata
            : serviceType == typeof(GenAiModel) ? _model
            : null;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            lock (_gate)
            {
                _model.Dispose();
            }
        }
    }

    /// <summary>Turns a decoder input's ids into GenAI's: visual positions take the placeholder the embedding graph splices at.</summary>
    private int[] Ids(DecoderInput input) => DecoderInputIds.Resolve(input, Metadata.HiddenSize, Metadata.VocabularySize, _placeholder);

    /// <summary>A generator plus what is needed to rebuild it: every id fed (placeholders at visual rows) and the visual rows in order.</summary>
    private sealed class State(GenAILanguageDecoder owner) : IDecoderState
    {
        private readonly List<int> _ids = [];
        private readonly List<(int Offset, DenseTensor<float> Rows)> _visual = [];
        private GenAiGenerator? _generator;
        private bool _disposed;

        public GenAILanguageDecoder Owner { get; } = owner;

        public int Length => _ids.Count;

        public void Forward(DecoderInput input, Span<float> logits)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var ids = Owner.Ids(input);
            var start = _ids.Count;
            if (_generator is not null && input.VisualEmbeddings.Count == 0)
            {
                Run(g => g.AppendTokens(ids));
            }
            else
            {
                // A fresh prefill of everything: the history, then this input. GenAI takes all visual rows in one go.
                var all = new int[start + ids.Length];
                _ids.CopyTo(all);
                ids.CopyTo(all, start);
                var visual = _visual.Concat(input.VisualEmbeddings.Select(v => (v.Offset + start, v.Embeddings))).ToList();
                _generator?.Dispose();
                _generator = null;
                var generator = Owner.CreateGenerator();
                try
                {
                    Prefill(generator, all, visual);
                }
                catch
                {
                    generator.Dispose();
                    throw;
                }

                _generator = generator;
            }

            _ids.AddRange(ids);
            foreach (var v in input.VisualEmbeddings)
            {
                _visual.Add((v.Offset + start, v.Embeddings));
            }

            _generator!.CopyLogits(logits[..Owner.Metadata.VocabularySize]);
        }

        public void Truncate(int length)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
            lock (Owner._gate)
            {
                if (length == _ids.Count)
                {
                    return;
                }

                var cut = _visual.FindLast(v => v.Offset < length);
                if (cut.Rows is not null && cut.Offset + cut.Rows.Dimension(0) > length)
                {
                    throw new ArgumentException($"Length {length} cuts through the visual rows at offset {cut.Offset}.", nameof(length));
                }

                _ids.RemoveRange(length, _ids.Count - length);
                _visual.RemoveAll(v => v.Offset >= length);

                // GenAI cannot rewind a multimodal cache: the next Forward re-prefills the kept history.
                _generator?.Dispose();
                _generator = null;
            }
        }

        public IDecoderState Fork()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var copy = new State(Owner);
            lock (Owner._gate)
            {
                copy._ids.AddRange(_ids);
                copy._visual.AddRange(_visual);
            }

            return copy;
        }

        public void Dispose()
        {
            lock (Owner._gate)
            {
                if (!_disposed)
                {
                    _disposed = true;
                    _generator?.Dispose();
                    _generator = null;
                }
            }
        }

        private void Run(Action<GenAiGenerator> action)
        {
            try
            {
                action(_generator!);
            }
            catch
            {
                // A failed GenAI call leaves the generator unusable; drop it so that the next call re-prefills.
                _generator?.Dispose();
                _generator = null;
                throw;
            }
        }

        private void Prefill(GenAiGenerator generator, int[] ids, List<(int Offset, DenseTensor<float> Rows)> visual)
        {
            if (visual.Count == 0)
            {
                generator.AppendTokens(ids);
                return;
            }

            var h = Owner.Metadata.HiddenSize;
            var rows = visual.Sum(v => v.Rows.Dimension(0));
            var pixels = new float[rows * h];
            var counts = new long[visual.Count];
            var at = 0;
            for (var i = 0; i < visual.Count; i++)
            {
                var n = visual[i].Rows.Dimension(0);
                visual[i].Rows.Span[..(n * h)].CopyTo(pixels.AsSpan(at * h));
                counts[i] = n;
                at += n;
            }

            using var inputs = new GenAiNamedTensors();
            using var pixelTensor = GenAiTensor.Create<float>(pixels, [rows, h]);
            using var countTensor = GenAiTensor.Create<long>(counts, [counts.Length]);
            using var idTensor = GenAiTensor.Create<int>(ids, [1, ids.Length]);
            inputs.Set("pixel_values", pixelTensor);
            inputs.Set("num_image_tokens", countTensor);
            inputs.Set("input_ids", idTensor);
            generator.SetInputs(inputs);
        }
    }

    private GenAiGenerator CreateGenerator()
    {
        using var parameters = new GenAiGeneratorParams(_model);
        parameters.SetSearchOption("max_length", Metadata.ContextLength);
        parameters.SetSearchOption("do_sample", false);
        return new GenAiGenerator(_model, parameters);
    }
}
