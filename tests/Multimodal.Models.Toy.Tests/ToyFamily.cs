// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using Microsoft.Extensions.AI;

namespace Multimodal.Models.Toy.Tests;

/// <summary>A sixth, toy family built only on the public extension points: it names the dominant colour of an image.</summary>
/// <remarks>
/// A model folder holds <c>config.json</c> with <c>"model_type": "toy-colour"</c>. The vision encoder turns each view
/// into four tokens (the mean colour of each quadrant), the template writes <c>Q: &lt;img&gt;{text}\nA:</c> with four
/// placeholder tokens per image, and the decoder is a small state machine over its KV cache that spells the colour
/// of the strongest channel and stops.
/// </remarks>
public sealed class ToyFamily : IModelFamily
{
    public const string ModelType = "toy-colour";

    public string Name => "toy";

    public bool CanLoad(ModelFolder folder) => folder.ModelType == ModelType;

    public ValueTask ConfigureAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        context.Tokenizer ??= new CharTokenizer();
        context.PromptTemplate ??= new ToyTemplate();
        context.ImageProcessor ??= new ToyProcessor();
        context.GenerationDefaults.MaxNewTokens = 16;
        context.GenerationDefaults.DoSample = false;
        return ValueTask.CompletedTask;
    }
}

/// <summary>The toy backend: a vision encoder and a decoder that need no weights.</summary>
public sealed class ToyBackend : IModelBackend
{
    public string Name => "toy";

    public ValueTask LoadAsync(ModelLoadContext context, CancellationToken cancellationToken)
    {
        context.VisionEncoder = new QuadrantEncoder();
        context.LanguageDecoder = new ColourDecoder((CharTokenizer)context.Tokenizer!);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Ids are characters: 0 = EOS, 1 = placeholder, 2 = newline, 3.. = printable ASCII.</summary>
public sealed class CharTokenizer : ITokenizer
{
    public const int Eos = 0;
    public const int Image = 1;
    public const int Newline = 2;

    public int VocabularySize => 3 + 95;

    public SpecialTokens SpecialTokens { get; } = new(null, [Eos], allSpecialIds: [Image]);

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        var ids = new List<int>();
        for (var i = 0; i < text.Length; i++)
        {
            if (text.AsSpan(i).StartsWith("<img>", StringComparison.Ordinal))
            {
                ids.Add(Image);
                i += 4;
            }
            else
            {
                ids.Add(text[i] == '\n' ? Newline : text[i] is >= ' ' and <= '~' ? text[i] - ' ' + 3 : '?' - ' ' + 3);
            }
        }

        return [.. ids];
    }

    public string Decode(ReadOnlySpan<int> ids, bool skipSpecialTokens = false, bool? cleanUpTokenizationSpaces = null)
    {
        var sb = new StringBuilder();
        foreach (var id in ids)
        {
            sb.Append(id switch { Eos => skipSpecialTokens ? string.Empty : "</s>", Image => skipSpecialTokens ? string.Empty : "<img>", Newline => "\n", _ => ((char)(id - 3 + ' ')).ToString() });
        }

        return sb.ToString();
    }

    public int? TokenToId(string token) => token switch { "</s>" => Eos, "<img>" => Image, "\n" => Newline, { Length: 1 } c when c[0] is >= ' ' and <= '~' => c[0] - ' ' + 3, _ => null };

    public string? IdToToken(int id) => id is >= 0 and < 98 ? Decode([id]) : null;
}

/// <summary><c>Q: &lt;img&gt;…&lt;img&gt;{text}\nA:</c>, then the answer (which starts with a space) and a newline, turn after turn.</summary>
public sealed class ToyTemplate : IPromptTemplate
{
    public FormattedPrompt Format(PromptConversation conversation)
    {
        var b = new FormattedPromptBuilder();
        foreach (var m in conversation.Messages)
        {
            if (m.Role == ChatRole.System)
            {
                throw new UnsupportedRequestException("The toy family has no system prompt.", "messages");
            }

            b.Append(m.Role == ChatRole.User ? "Q: " : string.Empty);
            foreach (var part in m.Parts)
            {
                if (part is PromptTextPart t)
                {
                    b.Append(t.Text);
                }
                else if (part is PromptVisualPart { Input: var input })
                {
                    b.AppendVisual(new VisualSegment(input.Index, 0, input.Views.Count, input.TokenCount), string.Concat(Enumerable.Repeat("<img>", input.TokenCount)));
                }
            }

            b.Append(m.Role == ChatRole.User ? "\nA:" : "\n");
        }

        return b.Build(["\n"]);
    }

    public PromptTokens Tokenize(FormattedPrompt prompt, ITokenizer tokenizer) =>
        PromptTokenization.TokenizeWithPlaceholderRuns(prompt, tokenizer, CharTokenizer.Image, addSpecialTokens: false);
}

/// <summary>Pixels to a [3, H, W] tensor in [0, 1].</summary>
public sealed class ToyProcessor : IImageProcessor
{
    public DenseTensor<float> Process(ImageView view)
    {
        var image = view.Image;
        var data = new float[3 * image.Width * image.Height];
        for (var y = 0; y < image.Height; y++)
        {
            var row = image.GetRow(y);
            for (var x = 0; x < image.Width; x++)
            {
                for (var c = 0; c < 3; c++)
                {
                    data[(c * image.Height * image.Width) + (y * image.Width) + x] = row[(x * image.BytesPerPixel) + c] / 255f;
                }
            }
        }

        return new DenseTensor<float>(data, 3, image.Height, image.Width);
    }
}

/// <summary>Four tokens per view: the mean colour of each quadrant (width 3 = the toy decoder's hidden size).</summary>
public sealed class QuadrantEncoder : IVisionEncoder
{
    public VisionEncoderMetadata Metadata { get; } = new("toy", 0, 1, 3, 4);

    public ValueTask<IReadOnlyList<DenseTensor<float>>> EncodeAsync(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        var outputs = new List<DenseTensor<float>>();
        foreach (var view in views)
        {
            int h = view.Dimension(1), w = view.Dimension(2);
            var tokens = new float[4 * 3];
            for (var q = 0; q < 4; q++)
            {
                int y0 = q / 2 * h / 2, x0 = q % 2 * w / 2;
                for (var c = 0; c < 3; c++)
                {
                    double sum = 0;
                    for (var y = y0; y < y0 + (h / 2); y++)
                    {
                        for (var x = x0; x < x0 + (w / 2); x++)
                        {
                            sum += view.Span[(c * h * w) + (y * w) + x];
                        }
                    }

                    tokens[(q * 3) + c] = (float)(sum / (h / 2 * (w / 2)));
                }
            }

            outputs.Add(new DenseTensor<float>(tokens, 4, 3));
        }

        return ValueTask.FromResult<IReadOnlyList<DenseTensor<float>>>(outputs);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

/// <summary>A decoder whose "KV cache" is the list of positions it has seen: after <c>A:</c> it spells the colour of
/// the strongest channel over the most recent image's tokens, then a newline.</summary>
public sealed class ColourDecoder(CharTokenizer tokenizer) : ILanguageDecoder
{
    public LanguageDecoderMetadata Metadata { get; } = new("toy", 98, 4096, 3);

    public IDecoderState CreateState() => new State();

    public void Forward(IDecoderState state, DecoderInput input, Span<float> logits, CancellationToken cancellationToken = default)
    {
        var s = (State)state;
        if (s.Positions.Count + input.Length > Metadata.ContextLength)
        {
            throw new ContextLengthExceededException(s.Positions.Count + input.Length, Metadata.ContextLength);
        }

        var visual = new Dictionary<int, float[]>();
        foreach (var placed in input.VisualEmbeddings)
        {
            for (var r = 0; r < placed.Embeddings.Dimension(0); r++)
            {
                visual[placed.Offset + r] = placed.Embeddings.Span.Slice(r * 3, 3).ToArray();
            }
        }

        for (var i = 0; i < input.Length; i++)
        {
            s.Positions.Add((input.TokenIds.Span[i], visual.GetValueOrDefault(i)));
        }

        // Find the answer so far (after the last "\nA:") and the colour of the last image.
        var text = tokenizer.Decode(s.Positions.Select(p => p.Id).ToArray());
        var answer = text[(text.LastIndexOf("\nA:", StringComparison.Ordinal) + 3)..];
        var sums = new float[3];
        foreach (var (_, embedding) in s.Positions.Where(p => p.Embedding is not null).TakeLast(4))
        {
            for (var c = 0; c < 3; c++)
            {
                sums[c] += embedding![c];
            }
        }

        var word = " " + (sums[0] >= sums[1] && sums[0] >= sums[2] ? "red" : sums[1] >= sums[2] ? "green" : "blue") + "\n";
        var next = answer.Length < word.Length && word.StartsWith(answer, StringComparison.Ordinal) ? tokenizer.Encode(word[answer.Length].ToString())[0] : CharTokenizer.Eos;
        logits.Fill(0);
        logits[next] = 10;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }

    private sealed class State : IDecoderState
    {
        public List<(int Id, float[]? Embedding)> Positions { get; } = [];

        public int Length => Positions.Count;

        public void Truncate(int length) => Positions.RemoveRange(length, Positions.Count - length);

        public IDecoderState Fork()
        {
            var copy = new State();
            copy.Positions.AddRange(Positions);
            return copy;
        }

        public void Dispose()
        {
        }
    }
}
