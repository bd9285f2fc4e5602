// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Managed.Modules;

/// <summary>
/// Rotary position embedding in the "rotate half" form of Llama and its descendants: for head dimension d and
/// i &lt; d/2, the pair (x[i], x[i + d/2]) is rotated by the angle p·θ^(−2i/d), with p the position divided by the
/// linear scaling factor. Frequencies, angles, cosines and sines are float32 as in transformers.
/// </summary>
/// <remarks>Cos/sin rows are cached per position and the cache grows on demand; thread-safe.</remarks>
internal sealed class RotaryTable
{
    private readonly int _half;
    private readonly float[] _inverseFrequencies;
    private readonly float _factor;
    private readonly Lock _gate = new();
    private float[] _cos = [];
    private float[] _sin = [];

    /// <summary>Initializes the table.</summary>
    /// <param name="headDim">The head dimension (even).</param>
    /// <param name="theta">The base θ (<c>rope_theta</c>).</param>
    /// <param name="linearFactor">The linear scaling factor (1 for none).</param>
    public RotaryTable(int headDim, double theta, double linearFactor)
    {
        if (headDim % 2 != 0)
        {
            throw new ModelLoadException($"RoPE needs an even head dimension; this model has {headDim}.");
        }

        _half = headDim / 2;
        _factor = (float)linearFactor;
        _inverseFrequencies = new float[_half];
        for (var i = 0; i < _half; i++)
        {
            // 1.0 / (base ** (arange(0, dim, 2).float() / dim)), evaluated in float32.
            var exponent = (float)(2 * i) / headDim;
            _inverseFrequencies[i] = 1f / (float)Math.Pow(theta, exponent);
        }
    }

    /// <summary>Rotates <paramref name="count"/> rows of <c>heads × headDim</c> values at positions start.. in place.</summary>
    public void Apply(Span<float> rows, int start, int count, int heads)
    {
        var (cos, sin) = Ensure(start + count);
        var d = _half * 2;
        for (var r = 0; r < count; r++)
        {
            var c = cos.AsSpan((start + r) * _half, _half);
            var s = sin.AsSpan((start + r) * _half, _half);
            for (var head = 0; head < heads; head++)
            {
                var x = rows.Slice((r * heads * d) + (head * d), d);
                for (var i = 0; i < _half; i++)
                {
                    var a = x[i];
                    var b = x[i + _half];
                    x[i] = (a * c[i]) - (b * s[i]);
                    x[i + _half] = (b * c[i]) + (a * s[i]);
                }
            }
        }
    }

    private (float[] Cos, float[] Sin) Ensure(int positions)
    {
        var cos = _cos;
        var sin = _sin;
        if (cos.Length >= positions * _half)
        {
            return (cos, sin);
        }

        lock (_gate)
        {
            if (_cos.Length >= positions * _half)
            {
                return (_cos, _sin);
            }

            var capacity = Math.Max(positions, Math.Max(256, (_cos.Length / _half) * 2));
            var newCos = new float[capacity * _half];
            var newSin = new float[capacity * _half];
            for (var p = 0; p < capacity; p++)
            {
                var t = _factor == 1f ? p : p / _factor;
                for (var i = 0; i < _half; i++)
                {
                    var angle = t * _inverseFrequencies[i];
                    newCos[(p * _half) + i] = MathF.Cos(angle);
                    newSin[(p * _half) + i] = MathF.Sin(angle);
                }
            }

            _sin = newSin;
            _cos = newCos;
            return (newCos, newSin);
        }
    }
}
