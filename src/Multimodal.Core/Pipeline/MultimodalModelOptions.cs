// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Multimodal;

/// <summary>Model-level settings, usually bound from configuration (for example the <c>Multimodal</c> section of appsettings.json) and validated at host start.</summary>
public sealed class MultimodalModelOptions
{
    /// <summary>Gets or sets the model id reported to clients (defaults to the folder name).</summary>
    public string? ModelId { get; set; }

    /// <summary>Gets or sets the model folder; families and backends load from it.</summary>
    public string? ModelPath { get; set; }

    /// <summary>Gets or sets how many requests may generate at the same time; the rest wait in order.</summary>
    /// <value>The default is 1: CPU backends use every core for one request.</value>
    [Range(1, 1024)]
    public int MaxConcurrentRequests { get; set; } = 1;

    /// <summary>Gets or sets the most images one request may carry (like vLLM's <c>limit_mm_per_prompt</c>).</summary>
    /// <value>The default is 16.</value>
    [Range(0, 4096)]
    public int MaxImagesPerRequest { get; set; } = 16;

    /// <summary>Gets or sets the most PDF pages one request may carry.</summary>
    /// <value>The default is 64, the high-resolution page budget of Aria's PDF recipe.</value>
    [Range(0, 100_000)]
    public int MaxPdfPagesPerRequest { get; set; } = 64;

    /// <summary>Gets or sets the most video frames one request may carry.</summary>
    /// <value>The default is 2048 (LongVA reads thousands of frames).</value>
    [Range(0, 1_000_000)]
    public int MaxVideoFramesPerRequest { get; set; } = 2048;

    /// <summary>Gets or sets the default number of frames sampled uniformly from a video when the request does not say.</summary>
    /// <value>The default is 8.</value>
    [Range(1, 1_000_000)]
    public int DefaultVideoFrames { get; set; } = 8;

    /// <summary>Gets or sets the default PDF rendering zoom relative to 72 dpi.</summary>
    /// <value>The default is 2 (144 dpi), as in Aria's PDF recipe.</value>
    [Range(0.1, 16.0)]
    public double DefaultPdfZoom { get; set; } = 2.0;

    /// <summary>Gets or sets the default maximum of new tokens, overriding the family's default.</summary>
    [Range(1, int.MaxValue)]
    public int? MaxNewTokens { get; set; }

    /// <summary>Gets or sets the default temperature, overriding the family's default (0 = greedy).</summary>
    [Range(0.0, 100.0)]
    public double? Temperature { get; set; }

    /// <summary>Gets or sets the default top-p, overriding the family's default.</summary>
    [Range(0.0, 1.0)]
    public double? TopP { get; set; }

    /// <summary>Gets or sets whether a hosted application loads the model at start instead of at the first request (singleton registrations).</summary>
    public bool LoadOnStart { get; set; }
}

/// <summary>Validates <see cref="MultimodalModelOptions"/> from its data annotations (source-generated).</summary>
[OptionsValidator]
internal sealed partial class MultimodalModelOptionsValidator : IValidateOptions<MultimodalModelOptions>
{
}
