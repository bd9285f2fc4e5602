// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.TestDoubles;

/// <summary>A vision encoder for tests: records every call, and emits <see cref="TokensPerView"/> rows per view whose values are the view's channel means.</summary>
public sealed class TestVisionEncoder(int tokensPerView = 4, int hiddenSize = 8) : IVisionEncoder
{
    public int TokensPerView { get; } = tokensPerView;

    public List<IReadOnlyList<DenseTensor<float>>> Calls { get; } = [];

    public List<VisionEncodeOptions?> Options { get; } = [];

    public bool Disposed { get; private set; }

    public VisionEncoderMetadata Metadata { get; } = new("test", 0, 1, hiddenSize, tokensPerView);

    public ValueTask<IReadOnlyList<DenseTensor<float>>> EncodeAsync(IReadOnlyList<DenseTensor<float>> views, VisionEncodeOptions? options = null, CancellationToken cancellationToken = default)
    {
        Calls.Add(views);
        Options.Add(options);
        var outputs = new List<DenseTensor<float>>();
        foreach (var v in views)
        {
            var plane = v.Dimension(1) * v.Dimension(2);
            var output = new DenseTensor<float>(TokensPerView, Metadata.OutputHiddenSize);
            for (var c = 0; c < 3; c++)
            {
                var mean = v.Span.Slice(c * plane, plane).ToArray().Average();
                for (var t = 0; t < TokensPerView; t++)
                {
                    output.Row(t)[c] = mean;
                }
            }

            outputs.Add(output);
        }

        return ValueTask.FromResult<IReadOnlyList<DenseTensor<float>>>(outputs);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose() => Disposed = true;
}
