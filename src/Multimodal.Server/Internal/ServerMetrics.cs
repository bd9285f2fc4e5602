// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics.Metrics;

namespace Multimodal.Server.Internal;

/// <summary>The server's instruments, on a <see cref="Meter"/> named <see cref="MultimodalServer.MeterName"/> from the host's <see cref="IMeterFactory"/>,
/// which owns and disposes it (one meter per host, so that servers in one process keep their numbers apart).</summary>
internal sealed class ServerMetrics
{
    /// <summary>Histogram buckets for latencies, in seconds: 5 ms to 10 minutes.</summary>
    internal static readonly double[] LatencyBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

    private readonly Counter<long> _requests;
    private readonly Counter<long> _promptTokens;
    private readonly Counter<long> _completionTokens;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _timeToFirstToken;

    public ServerMetrics(IMeterFactory meterFactory, ModelRegistry registry)
    {
        Meter = meterFactory.Create(new MeterOptions(MultimodalServer.MeterName) { Version = typeof(ServerMetrics).Assembly.GetName().Version?.ToString() });
        _requests = Meter.CreateCounter<long>("multimodal.server.requests", "{request}", "Chat completion requests, by model and HTTP status code.");
        _promptTokens = Meter.CreateCounter<long>("multimodal.server.prompt_tokens", "{token}", "Prompt tokens (text and visual) of completed requests, by model.");
        _completionTokens = Meter.CreateCounter<long>("multimodal.server.completion_tokens", "{token}", "Generated tokens, by model.");
        var advice = new InstrumentAdvice<double> { HistogramBucketBoundaries = LatencyBuckets };
        _duration = Meter.CreateHistogram("multimodal.server.request.duration", "s", "Duration of chat completion requests from arrival to the last byte, queueing included, by model.", advice: advice);
        _timeToFirstToken = Meter.CreateHistogram("multimodal.server.time_to_first_token", "s", "Time from a request's arrival to its first generated text, queueing included, by model.", advice: advice);
        Meter.CreateObservableGauge("multimodal.server.requests.active", () => Observe(registry, m => m.Active), "{request}", "Requests generating now, by model.");
        Meter.CreateObservableGauge("multimodal.server.requests.queued", () => Observe(registry, m => m.Queued), "{request}", "Requests waiting for a generation slot, by model.");
    }

    public Meter Meter { get; }

    public void RequestCompleted(string model, int statusCode, double seconds)
    {
        KeyValuePair<string, object?> modelTag = new("model", model);
        _requests.Add(1, modelTag, new("status", statusCode));
        _duration.Record(seconds, modelTag);
    }

    public void FirstToken(string model, double seconds) => _timeToFirstToken.Record(seconds, new KeyValuePair<string, object?>("model", model));

    public void Tokens(string model, long prompt, long completion)
    {
        KeyValuePair<string, object?> modelTag = new("model", model);
        _promptTokens.Add(prompt, modelTag);
        _completionTokens.Add(completion, modelTag);
    }

    private static IEnumerable<Measurement<int>> Observe(ModelRegistry registry, Func<ServedModel, int> value)
    {
        foreach (var model in registry.Models)
        {
            yield return new Measurement<int>(value(model), new KeyValuePair<string, object?>("model", model.Id));
        }
    }
}
