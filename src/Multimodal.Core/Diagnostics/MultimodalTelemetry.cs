// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Multimodal;

/// <summary>The names under which the library publishes traces and metrics, for OpenTelemetry's <c>AddSource</c> and <c>AddMeter</c>.</summary>
/// <remarks>
/// Activities are named <c>multimodal.generate</c> and carry the OpenTelemetry generative-AI attributes
/// (<c>gen_ai.request.model</c>, <c>gen_ai.usage.input_tokens</c>, <c>gen_ai.usage.output_tokens</c>, …).
/// Metrics: <c>multimodal.requests</c>, <c>multimodal.tokens</c> (tagged <c>multimodal.token.type</c> = prompt, visual or completion),
/// <c>multimodal.time_to_first_token</c> and <c>multimodal.request.duration</c> (seconds).
/// </remarks>
public static class MultimodalTelemetry
{
    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> and <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string SourceName = "Multimodal";

    internal static readonly ActivitySource ActivitySource = new(SourceName, typeof(MultimodalTelemetry).Assembly.GetName().Version?.ToString());

    internal static readonly Meter Meter = new(SourceName, typeof(MultimodalTelemetry).Assembly.GetName().Version?.ToString());

    internal static readonly Counter<long> Requests = Meter.CreateCounter<long>("multimodal.requests", "{request}", "Generation requests, tagged by model and outcome.");

    internal static readonly Counter<long> Tokens = Meter.CreateCounter<long>("multimodal.tokens", "{token}", "Prompt, visual and completion tokens.");

    internal static readonly Histogram<double> TimeToFirstToken = Meter.CreateHistogram<double>("multimodal.time_to_first_token", "s", "Time from the start of a request to its first generated token.");

    internal static readonly Histogram<double> RequestDuration = Meter.CreateHistogram<double>("multimodal.request.duration", "s", "Duration of generation requests.");
}
