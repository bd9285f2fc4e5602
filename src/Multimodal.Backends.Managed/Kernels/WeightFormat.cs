// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Backends.Managed;

/// <summary>How a linear layer's weights are stored in memory.</summary>
public enum WeightFormat
{
    /// <summary>float32, as loaded or converted.</summary>
    Float32,

    /// <summary>IEEE half precision, kept as stored and converted inside the kernel.</summary>
    Float16,

    /// <summary>bfloat16, kept as stored and converted inside the kernel.</summary>
    BFloat16,

    /// <summary>int8, symmetric, one float32 scale per output channel (NNCF <c>INT8</c> / <c>INT8_SYM</c>).</summary>
    Int8,

    /// <summary>int4, symmetric, one scale per group of input channels (NNCF <c>INT4_SYM</c>).</summary>
    Int4Symmetric,

    /// <summary>int4, asymmetric, one scale and one zero point per group of input channels (NNCF <c>INT4_ASYM</c>).</summary>
    Int4Asymmetric,
}
