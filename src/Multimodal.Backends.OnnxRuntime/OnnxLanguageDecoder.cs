// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Text.RegularExpressions;
using Multimodal.Backends.OnnxRuntime.Native;

namespace Multimodal.Backends.OnnxRuntime;

/// <summary>
/// An <see cref="ILanguageDecoder"/> over two ONNX graphs: <c>embed_tokens</c> (ids → embeddings) and
/// <c>decoder_model_merged</c> (embeddings, attention mask, position ids and <c>past_key_values.N.key/value</c> →
/// logits and <c>present.N.key/value</c>).
/// </summary>
/// <remarks>
/// <para>Visual embeddings are written over the embedded placeholder positions on the host, as transformers.js merges
/// them. The KV cache stays in ONNX Runtime's buffers: each step binds the previous step's <c>present</c> outputs as the
/// next step's <c>past</c> inputs through an I/O binding, so no cache is copied through managed memory.</para>
/// <para>Layer count, KV heads and head size come from the graph's inputs; the context length from the model's config.</para>
/// </remarks>
internal sealed partial class OnnxLanguageDecoder : ILanguageDecoder
{
    private readonly OrtSession _embed;
    private readonly OrtSession _decoder;
    private readonly string[] _pastNames;
    private readonly string[] _presentNames;
    private readonly bool _hasPositionIds;
    private readonly bool _hasAttentionMask;
    private readonly int _kvHeads;
    private readonly int _headDim;
    private int _disposed;

    public OnnxLanguageDecoder(OrtSession embed, OrtSession decoder, int contextLength, string providerName)
    {
        _embed = embed;
        _decoder = decoder;
        var inputs = decoder.Inputs.ToDictionary(i => i.Name, StringComparer.Ordinal);
        if (!inputs.TryGetValue("inputs_embeds", out var embeds) || embeds.Shape.Length != 3 || embeds.Shape[2] <= 0)
        {
            throw new ModelLoadException("The decoder graph has no inputs_embeds input of shape [batch, sequence, hidden] with a fixed hidden size; it is not in the optimum/transformers.js image-text-to-text layout.");
        }

        var layers = new SortedDictionary<int, (string? Key, string? Value)>();
        foreach (var input in decoder.Inputs)
        {
            if (PastName().Match(input.Name) is { Success: true } m)
            {
                var layer = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                var entry = layers.GetValueOrDefault(layer);
                layers[layer] = m.Groups[2].Value == "key" ? (input.Name, entry.Value) : (entry.Key, input.Name);
                if (input.Shape.Length != 4 || input.Shape[1] <= 0 || input.Shape[3] <= 0)
                {
                    throw new ModelLoadException($"The decoder's {input.Name} must be [batch, kv_heads, past, head_dim] with fixed kv_heads and head_dim.");
                }

                _kvHeads = (int)input.Shape[1];
                _headDim = (int)input.Shape[3];
            }
        }

        if (layers.Count == 0 || layers.Keys.First() != 0 || layers.Keys.Last() != layers.Count - 1 || layers.Values.Any(l => l.Key is null || l.Value is null))
        {
            throw new ModelLoadException("The decoder graph's past_key_values.N.key/value inputs are missing or incomplete.");
        }

        _pastNames = [.. layers.Values.SelectMany(l => new[] { l.Key!, l.Value! })];
        _presentNames = [.. _pastNames.Select(n => "present" + n["past_key_values".Length..])];
        var outputs = decoder.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        var missing = _presentNames.Prepend("logits").Where(n => !outputs.Contains(n)).ToArray();
        if (missing.Length > 0)
        {
            throw new ModelLoadException($"The decoder graph lacks the outputs {string.Join(", ", missing)}.");
        }

        _hasPositionIds = inputs.ContainsKey("position_ids");
        _hasAttentionMask = inputs.ContainsKey("attention_mask");
        var logits = decoder.Outputs.First(o => o.Name == "logits");
        var vocab = logits.Shape.Length == 3 ? (int)logits.Shape[2] : 0;
        if (vocab <= 0)
        {
            throw new ModelLoadException("The decoder's logits output must be [batch, sequence, vocab] with a fixed vocabulary size.");
        }

        Metadata = new LanguageDecoderMetadata(providerName, vocab, contextLength, (int)embeds.Shape[2]);
    }

    public LanguageDecoderMetadata Metadata { get; }

    /// <summary>Gets the number of decoder layers (KV pairs).</summary>
    internal int Layers => _pastNames.Length / 2;

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

        ObjectDisposedException.ThrowIf(s.IsDisposed, s);
        var n = input.Length;
        if (n == 0)
        {
            throw new ArgumentException("The input has no positions.", nameof(input));
        }

        if (logits.Length < Metadata.VocabularySize)
        {
            throw new ArgumentException($"The logits buffer holds {logits.Length} values; {Metadata.VocabularySize} are needed.", nameof(logits));
        }

        var total = s.Length + n;
        if (total > Metadata.ContextLength)
        {
            throw new ContextLengthExceededException(total, Metadata.ContextLength, input.VisualEmbeddings.Sum(v => v.Embeddings.Dimension(0)));
        }

        cancellationToken.ThrowIfCancellationRequested();
        using var embeds = Embed(input, cancellationToken);
        var start = s.Length;
        using var binding = new OrtIoBinding(_decoder);
        binding.BindInput("inputs_embeds", embeds);
        using var mask = _hasAttentionMask ? OrtValue.CreateTensor<long>([1, total]) : null;
        if (mask is not null)
        {
            mask.GetSpan<long>().Fill(1);
            binding.BindInput("attention_mask", mask);
        }

        using var positions = _hasPositionIds ? OrtValue.CreateTensor<long>([1, n]) : null;
        if (positions is not null)
        {
            var span = positions.GetSpan<long>();
            for (var i = 0; i < n; i++)
            {
                span[i] = start + i;
            }

            binding.BindInput("position_ids", positions);
        }

        for (var i = 0; i < _pastNames.Length; i++)
        {
            binding.BindInput(_pastNames[i], s.Past[i]);
        }

        binding.BindOutputToCpu("logits");
        foreach (var name in _presentNames)
        {
            binding.BindOutputToCpu(name);
        }

        binding.Run(null, cancellationToken);
        var outputs = binding.GetOutputValues();
        try
        {
            var vocab = Metadata.VocabularySize;
            outputs[0].GetReadOnlySpan<float>().Slice((n - 1) * vocab, vocab).CopyTo(logits);
            var presents = outputs[1..];
            s.Replace(presents, total);
            outputs[0].Dispose();
        }
        catch
        {
            foreach (var value in outputs)
            {
                value.Dispose();
            }

            throw;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType.IsInstanceOfType(this) ? this
            : serviceType == typeof(LanguageDecoderMetadata) ? Metadata
            : null;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _decoder.Dispose();
            _embed.Dispose();
        }
    }

    /// <summary>Embeds the ids and writes the visual rows over their spans.</summary>
    private OrtValue Embed(DecoderInput input, CancellationToken cancellationToken)
    {
        var n = input.Length;
        var h = Metadata.HiddenSize;
        var visual = input.VisualEmbeddings;
        var resolved = DecoderInputIds.Resolve(input, h, Metadata.VocabularySize, placeholder: 0); // rows replace these below
        var ids = new long[n];
        for (var p = 0; p < n; p++)
        {
            ids[p] = resolved[p];
        }

        using var idsValue = OrtValue.CreateTensor<long>(ids, [1, n]);
        var embeds = _embed.Run(["input_ids"], [idsValue], ["inputs_embeds"], null, cancellationToken)[0];
        try
        {
            var span = embeds.GetSpan<float>();
            if (span.Length != n * h)
            {
                throw new ModelLoadException($"embed_tokens returned {span.Length} values for {n} ids; {n * h} ({n}×{h}) were expected.");
            }

            foreach (var placed in visual)
            {
                var rows = placed.Embeddings.Dimension(0);
                placed.Embeddings.Span[..(rows * h)].CopyTo(span.Slice(placed.Offset * h, rows * h));
            }

            return embeds;
        }
        catch
        {
            embeds.Dispose();
            throw;
        }
    }

    [GeneratedRegex(@"^past_key_values\.(\d+)\.(key|value)$", RegexOptions.CultureInvariant)]
    private static partial Regex PastName();

    /// <summary>A KV cache held as ONNX Runtime values <c>[1, kv_heads, length, head_dim]</c>, one per key and value of each layer.</summary>
    private sealed class State : IDecoderState
    {
        private OrtValue[] _past;
        private bool _disposed;

        public State(OnnxLanguageDecoder owner)
            : this(owner, Empty(owner), 0)
        {
        }

        private State(OnnxLanguageDecoder owner, OrtValue[] past, int length)
        {
            Owner = owner;
            _past = past;
            Length = length;
        }

        public OnnxLanguageDecoder Owner { get; }

        public int Length { get; private set; }

        public bool IsDisposed => _disposed;

        public OrtValue[] Past => _past;

        public void Replace(OrtValue[] presents, int length)
        {
            var old = _past;
            _past = presents;
            Length = length;
            foreach (var value in old)
            {
                value.Dispose();
            }
        }

        public void Truncate(int length)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            ArgumentOutOfRangeException.ThrowIfNegative(length);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(length, Length);
            if (length == Length)
            {
                return;
            }

            Replace(Copy(length), length);
        }

        public IDecoderState Fork()
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return new State(Owner, Copy(Length), Length);
        }

        public void Dispose()
        {
            if (!_disposed)
            {
                _disposed = true;
                foreach (var value in _past)
                {
                    value.Dispose();
                }
            }
        }

        private static OrtValue[] Empty(OnnxLanguageDecoder owner)
        {
            var values = new OrtValue[owner._pastNames.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = OrtValue.CreateTensor<float>([1, owner._kvHeads, 0, owner._headDim]);
            }

            return values;
        }

        /// <summary>Copies the first <paramref name="length"/> positions of every cache tensor.</summary>
        private OrtValue[] Copy(int length)
        {
            var heads = Owner._kvHeads;
            var d = Owner._headDim;
            var copies = new OrtValue[_past.Length];
            var made = 0;
            try
            {
                for (var i = 0; i < _past.Length; i++)
                {
                    copies[i] = OrtValue.CreateTensor<float>([1, heads, length, d]);
                    made++;
                    var source = _past[i].GetReadOnlySpan<float>();
                    var target = copies[i].GetSpan<float>();
                    for (var h = 0; h < heads; h++)
                    {
                        source.Slice(h * Length * d, length * d).CopyTo(target.Slice(h * length * d, length * d));
                    }
                }

                return copies;
            }
            catch
            {
                for (var i = 0; i < made; i++)
                {
                    copies[i].Dispose();
                }

                throw;
            }
        }
    }
}
