// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal;

/// <summary>Per-request generation settings; every <see langword="null"/> property means "use the model's default".</summary>
/// <remarks>
/// Defaults come, in order, from the request, from the model (its family's reference settings, or what the
/// builder configured), and finally from <see cref="GenerationSettings.Default"/>.
/// </remarks>
public class GenerationOptions
{
    /// <summary>Gets or sets the maximum number of tokens to generate.</summary>
    public int? MaxNewTokens { get; set; }

    /// <summary>Gets or sets whether to sample. When unset, sampling is on if <see cref="Temperature"/> is above 0, or if only top-k/top-p/min-p are set.</summary>
    public bool? DoSample { get; set; }

    /// <summary>Gets or sets the softmax temperature; 0 means greedy.</summary>
    public float? Temperature { get; set; }

    /// <summary>Gets or sets top-k: keep the k most likely tokens (ties with the k-th are kept, as in Hugging Face); 0 disables.</summary>
    public int? TopK { get; set; }

    /// <summary>Gets or sets top-p (nucleus): keep the smallest set of most likely tokens whose probability reaches p; 1 disables.</summary>
    public float? TopP { get; set; }

    /// <summary>Gets or sets min-p: drop tokens whose probability is below <c>min_p</c> × the top probability; 0 disables.</summary>
    public float? MinP { get; set; }

    /// <summary>Gets or sets the repetition penalty (Hugging Face's definition: positive logits of seen tokens are divided by it, negative ones multiplied); 1 disables.</summary>
    public float? RepetitionPenalty { get; set; }

    /// <summary>Gets or sets whether the repetition penalty also counts prompt tokens. The default, <see langword="false"/>, matches the reference code, which calls <c>generate(inputs_embeds=…)</c> so that only generated ids are seen.</summary>
    public bool? RepetitionPenaltyIncludesPrompt { get; set; }

    /// <summary>Gets or sets the frequency penalty (OpenAI's definition: subtract penalty × count of the token in the completion so far).</summary>
    public float? FrequencyPenalty { get; set; }

    /// <summary>Gets or sets the presence penalty (OpenAI's definition: subtract penalty once for every token already in the completion).</summary>
    public float? PresencePenalty { get; set; }

    /// <summary>Gets or sets the seed of the sampler; the same seed, input and settings give the same output.</summary>
    public long? Seed { get; set; }

    /// <summary>Gets or sets the number of beams; above 1 selects beam search (no sampling).</summary>
    public int? NumBeams { get; set; }

    /// <summary>Gets or sets the beam-search length penalty: hypothesis score = sum of log-probabilities ÷ length^penalty.</summary>
    public float? LengthPenalty { get; set; }

    /// <summary>Gets or sets whether beam search stops as soon as <see cref="NumBeams"/> hypotheses are finished.</summary>
    public bool? EarlyStopping { get; set; }

    /// <summary>Gets or sets extra stop strings (added to the template's). Text up to the stop string is returned; the stop string is not.</summary>
    public IList<string>? StopStrings { get; set; }

    /// <summary>Gets or sets extra stop token ids (added to the tokenizer's EOS ids).</summary>
    public IList<int>? StopTokenIds { get; set; }

    /// <summary>Gets or sets family- or backend-specific options (for example <c>token_kept_ratio</c> or <c>max_slice_nums</c>).</summary>
    public IDictionary<string, object?>? AdditionalProperties { get; set; }

    /// <summary>Gets or sets a sink for the progress of media ingestion (images encoded, PDF pages rendered, video frames read), or <see langword="null"/>.</summary>
    /// <remarks>Reports arrive on the generating thread; a UI should marshal them (for example with <see cref="Progress{T}"/>).</remarks>
    public IProgress<ProgressReport>? Progress { get; set; }

    /// <summary>Creates a copy.</summary>
    /// <returns>A shallow copy with its own lists and dictionary.</returns>
    public virtual GenerationOptions Clone() => new()
    {
        MaxNewTokens = MaxNewTokens,
        DoSample = DoSample,
        Temperature = Temperature,
        TopK = TopK,
        TopP = TopP,
        MinP = MinP,
        RepetitionPenalty = RepetitionPenalty,
        RepetitionPenaltyIncludesPrompt = RepetitionPenaltyIncludesPrompt,
        FrequencyPenalty = FrequencyPenalty,
        PresencePenalty = PresencePenalty,
        Seed = Seed,
        NumBeams = NumBeams,
        LengthPenalty = LengthPenalty,
        EarlyStopping = EarlyStopping,
        StopStrings = StopStrings is null ? null : [.. StopStrings],
        StopTokenIds = StopTokenIds is null ? null : [.. StopTokenIds],
        AdditionalProperties = AdditionalProperties is null ? null : new Dictionary<string, object?>(AdditionalProperties),
        Progress = Progress,
    };
}

/// <summary>Fully resolved, validated generation settings, as the generation loop uses them.</summary>
public sealed record GenerationSettings
{
    /// <summary>Gets the built-in defaults: greedy, 256 new tokens, no penalties, one beam.</summary>
    public static GenerationSettings Default { get; } = new();

    /// <summary>Gets the maximum number of new tokens.</summary>
    public int MaxNewTokens { get; init; } = 256;

    /// <summary>Gets whether to sample (otherwise greedy or beam search).</summary>
    public bool DoSample { get; init; }

    /// <summary>Gets the temperature (used when sampling).</summary>
    public float Temperature { get; init; } = 1f;

    /// <summary>Gets top-k (0 = off).</summary>
    public int TopK { get; init; }

    /// <summary>Gets top-p (1 = off).</summary>
    public float TopP { get; init; } = 1f;

    /// <summary>Gets min-p (0 = off).</summary>
    public float MinP { get; init; }

    /// <summary>Gets the repetition penalty (1 = off).</summary>
    public float RepetitionPenalty { get; init; } = 1f;

    /// <summary>Gets whether the repetition penalty counts prompt tokens.</summary>
    public bool RepetitionPenaltyIncludesPrompt { get; init; }

    /// <summary>Gets the frequency penalty.</summary>
    public float FrequencyPenalty { get; init; }

    /// <summary>Gets the presence penalty.</summary>
    public float PresencePenalty { get; init; }

    /// <summary>Gets the seed, or <see langword="null"/> for a random one.</summary>
    public long? Seed { get; init; }

    /// <summary>Gets the number of beams.</summary>
    public int NumBeams { get; init; } = 1;

    /// <summary>Gets the beam-search length penalty.</summary>
    public float LengthPenalty { get; init; } = 1f;

    /// <summary>Gets whether beam search stops once enough hypotheses are finished.</summary>
    public bool EarlyStopping { get; init; }

    /// <summary>Gets the stop strings.</summary>
    public IReadOnlyList<string> StopStrings { get; init; } = [];

    /// <summary>Gets the stop token ids.</summary>
    public IReadOnlyList<int> StopTokenIds { get; init; } = [];

    /// <summary>Gets the family- or backend-specific options.</summary>
    public IReadOnlyDictionary<string, object?> AdditionalProperties { get; init; } = new Dictionary<string, object?>();

    /// <summary>Resolves request options over model defaults over the built-in defaults, and validates the result.</summary>
    /// <param name="request">The request's options, or <see langword="null"/>.</param>
    /// <param name="modelDefaults">The model's defaults, or <see langword="null"/>.</param>
    /// <param name="stopStrings">Stop strings to add (the template's).</param>
    /// <param name="stopTokenIds">Stop ids to add (the tokenizer's EOS ids).</param>
    /// <returns>The resolved settings.</returns>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of its valid range; the message names the option.</exception>
    public static GenerationSettings Resolve(GenerationOptions? request, GenerationOptions? modelDefaults, IEnumerable<string>? stopStrings = null, IEnumerable<int>? stopTokenIds = null)
    {
        var d = Default;
        T Pick<T>(Func<GenerationOptions, T?> get, T fallback)
            where T : struct => (request is null ? null : get(request)) ?? (modelDefaults is null ? null : get(modelDefaults)) ?? fallback;

        var temperature = Pick(o => o.Temperature, 1f);
        if (!(temperature >= 0f) || float.IsInfinity(temperature))
        {
            throw new ArgumentOutOfRangeException(nameof(Temperature), temperature, "Temperature must be a finite number >= 0 (0 means greedy).");
        }

        var topK = Pick(o => o.TopK, d.TopK);
        var topP = Pick(o => o.TopP, d.TopP);
        var minP = Pick(o => o.MinP, d.MinP);

        // The request's wish wins over the model's: an explicit DoSample, else what its temperature or truncation settings imply.
        var doSample = request?.DoSample ?? ImpliedSampling(request) ?? modelDefaults?.DoSample ?? ImpliedSampling(modelDefaults) ?? false;

        // Beam search is a non-sampling default (MiniCPM-V); a request that asks to sample gets one beam unless it asks for more.
        var numBeams = request?.NumBeams ?? (doSample ? 1 : modelDefaults?.NumBeams ?? d.NumBeams);

        var settings = new GenerationSettings
        {
            MaxNewTokens = Pick(o => o.MaxNewTokens, d.MaxNewTokens),
            DoSample = doSample && numBeams <= 1,
            Temperature = temperature > 0 ? temperature : 1f,
            TopK = topK,
            TopP = topP,
            MinP = minP,
            RepetitionPenalty = Pick(o => o.RepetitionPenalty, d.RepetitionPenalty),
            RepetitionPenaltyIncludesPrompt = Pick(o => o.RepetitionPenaltyIncludesPrompt, false),
            FrequencyPenalty = Pick(o => o.FrequencyPenalty, 0f),
            PresencePenalty = Pick(o => o.PresencePenalty, 0f),
            Seed = request?.Seed ?? modelDefaults?.Seed,
            NumBeams = numBeams,
            LengthPenalty = Pick(o => o.LengthPenalty, d.LengthPenalty),
            EarlyStopping = Pick(o => o.EarlyStopping, d.EarlyStopping),
            StopStrings = [.. (stopStrings ?? []).Concat(modelDefaults?.StopStrings ?? []).Concat(request?.StopStrings ?? []).Where(s => !string.IsNullOrEmpty(s)).Distinct(StringComparer.Ordinal)],
            StopTokenIds = [.. (stopTokenIds ?? []).Concat(modelDefaults?.StopTokenIds ?? []).Concat(request?.StopTokenIds ?? []).Distinct()],
            AdditionalProperties = Merge(modelDefaults?.AdditionalProperties, request?.AdditionalProperties),
        };
        settings.Validate();
        return settings;
    }

    /// <summary>Checks every value's range.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range; the parameter name is the option's name.</exception>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(MaxNewTokens, nameof(MaxNewTokens));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(Temperature, nameof(Temperature));
        ArgumentOutOfRangeException.ThrowIfNegative(TopK, nameof(TopK));
        if (!(TopP > 0f && TopP <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(TopP), TopP, "TopP must be in (0, 1].");
        }

        if (!(MinP >= 0f && MinP <= 1f))
        {
            throw new ArgumentOutOfRangeException(nameof(MinP), MinP, "MinP must be in [0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(RepetitionPenalty, nameof(RepetitionPenalty));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(NumBeams, nameof(NumBeams));
        if (!float.IsFinite(FrequencyPenalty) || !float.IsFinite(PresencePenalty) || !float.IsFinite(LengthPenalty))
        {
            throw new ArgumentOutOfRangeException(nameof(FrequencyPenalty), "FrequencyPenalty, PresencePenalty and LengthPenalty must be finite numbers.");
        }
    }

    private static bool? ImpliedSampling(GenerationOptions? o)
    {
        if (o is null)
        {
            return null;
        }

        if (o.Temperature is { } t)
        {
            return t > 0;
        }

        return o.TopK is > 0 || o.TopP is < 1f || o.MinP is > 0f ? true : null;
    }

    private static Dictionary<string, object?> Merge(IDictionary<string, object?>? a, IDictionary<string, object?>? b)
    {
        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var source in new[] { a, b })
        {
            if (source is null)
            {
                continue;
            }

            foreach (var (k, v) in source)
            {
                result[k] = v;
            }
        }

        return result;
    }
}
