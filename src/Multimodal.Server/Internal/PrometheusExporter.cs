// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;

namespace Multimodal.Server.Internal;

/// <summary>Aggregates the server meter's measurements with a <see cref="MeterListener"/> and writes them in the Prometheus text format (0.0.4).</summary>
/// <remarks>
/// Only instruments of this host's meter are aggregated. Names follow the OpenTelemetry-to-Prometheus convention:
/// dots become underscores, seconds add <c>_seconds</c>, counters add <c>_total</c>
/// (<c>multimodal.server.requests</c> → <c>multimodal_server_requests_total</c>). Counters keep sums, histograms keep
/// cumulative buckets, sums and counts, and observable gauges are read at each scrape.
/// </remarks>
internal sealed class PrometheusExporter : IDisposable
{
    public const string ContentType = "text/plain; version=0.0.4; charset=utf-8";

    private readonly Meter _meter;
    private readonly MeterListener _listener;
    private readonly List<Family> _families = [];
    private readonly Lock _scrapeLock = new();

    public PrometheusExporter(ServerMetrics metrics)
    {
        _meter = metrics.Meter;
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (ReferenceEquals(instrument.Meter, _meter))
                {
                    var family = new Family(instrument);
                    lock (_families)
                    {
                        _families.Add(family);
                    }

                    listener.EnableMeasurementEvents(instrument, family);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<int>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.SetMeasurementEventCallback<double>((_, value, tags, state) => ((Family)state!).Record(value, tags));
        _listener.Start();
    }

    /// <summary>Reads the observable gauges and writes every metric.</summary>
    public string Scrape()
    {
        Family[] families;
        lock (_families)
        {
            families = [.. _families];
        }

        var text = new StringBuilder();
        lock (_scrapeLock)
        {
            foreach (var family in families.Where(f => f.IsGauge))
            {
                family.Clear();
            }

            _listener.RecordObservableInstruments();
            foreach (var family in families)
            {
                family.WriteTo(text);
            }
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private static string Number(double value) =>
        double.IsPositiveInfinity(value) ? "+Inf" : double.IsNegativeInfinity(value) ? "-Inf" : double.IsNaN(value) ? "NaN" : value.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>One instrument and its series, by label set.</summary>
    private sealed class Family
    {
        private readonly Dictionary<string, Series> _series = new(StringComparer.Ordinal);
        private readonly string _name;
        private readonly string _help;
        private readonly string _type;
        private readonly double[]? _bounds;

        public Family(Instrument instrument)
        {
            var name = Sanitize(instrument.Name);
            if (instrument.Unit == "s")
            {
                name += "_seconds";
            }

            var isCounter = instrument is Counter<long> or Counter<int> or Counter<double> or ObservableCounter<long> or ObservableCounter<int> or ObservableCounter<double>;
            if (isCounter)
            {
                name += "_total";
            }

            _name = name;
            _help = (instrument.Description ?? instrument.Name).Replace("\\", "\\\\", StringComparison.Ordinal).ReplaceLineEndings("\\n");
            IsGauge = instrument is ObservableGauge<int> or ObservableGauge<long> or ObservableGauge<double> or ObservableUpDownCounter<int> or ObservableUpDownCounter<long>;
            if (instrument is Histogram<double> histogram)
            {
                _type = "histogram";
                _bounds = [.. histogram.Advice?.HistogramBucketBoundaries ?? ServerMetrics.LatencyBuckets];
            }
            else
            {
                _type = isCounter ? "counter" : "gauge";
            }
        }

        public bool IsGauge { get; }

        public void Record(double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var labels = Labels(tags);
            Series series;
            lock (_series)
            {
                if (!_series.TryGetValue(labels, out series!))
                {
                    series = new Series(_bounds?.Length ?? 0);
                    _series.Add(labels, series);
                }
            }

            lock (series)
            {
                if (_bounds is not null)
                {
                    var bucket = Array.BinarySearch(_bounds, value);
                    series.Buckets[bucket < 0 ? ~bucket : bucket]++;
                    series.Count++;
                    series.Value += value;
                }
                else if (IsGauge)
                {
                    series.Value = value;
                }
                else
                {
                    series.Value += value;
                }
            }
        }

        public void Clear()
        {
            lock (_series)
            {
                _series.Clear();
            }
        }

        public void WriteTo(StringBuilder text)
        {
            KeyValuePair<string, Series>[] all;
            lock (_series)
            {
                all = [.. _series.OrderBy(s => s.Key, StringComparer.Ordinal)];
            }

            text.Append("# HELP ").Append(_name).Append(' ').Append(_help).Append('\n');
            text.Append("# TYPE ").Append(_name).Append(' ').Append(_type).Append('\n');
            foreach (var (labels, series) in all)
            {
                lock (series)
                {
                    if (_bounds is null)
                    {
                        text.Append(_name).Append(Braces(labels)).Append(' ').Append(Number(series.Value)).Append('\n');
                        continue;
                    }

                    // Buckets are cumulative: each counts the observations at or below its bound.
                    long cumulative = 0;
                    for (var i = 0; i <= _bounds.Length; i++)
                    {
                        cumulative += series.Buckets[i];
                        var le = i < _bounds.Length ? Number(_bounds[i]) : "+Inf";
                        text.Append(_name).Append("_bucket{").Append(labels).Append(labels.Length > 0 ? "," : string.Empty)
                            .Append("le=\"").Append(le).Append("\"} ").Append(cumulative.ToString(CultureInfo.InvariantCulture)).Append('\n');
                    }

                    text.Append(_name).Append("_sum").Append(Braces(labels)).Append(' ').Append(Number(series.Value)).Append('\n');
                    text.Append(_name).Append("_count").Append(Braces(labels)).Append(' ').Append(series.Count.ToString(CultureInfo.InvariantCulture)).Append('\n');
                }
            }
        }

        private static string Braces(string labels) => labels.Length == 0 ? string.Empty : "{" + labels + "}";

        /// <summary>Formats tags as <c>a="x",b="y"</c>, sorted by name, values escaped.</summary>
        private static string Labels(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            if (tags.IsEmpty)
            {
                return string.Empty;
            }

            var sorted = tags.ToArray();
            Array.Sort(sorted, (a, b) => string.CompareOrdinal(a.Key, b.Key));
            var text = new StringBuilder();
            foreach (var (key, value) in sorted)
            {
                if (text.Length > 0)
                {
                    text.Append(',');
                }

                var s = Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;
                text.Append(Sanitize(key)).Append("=\"")
                    .Append(s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).ReplaceLineEndings("\\n"))
                    .Append('"');
            }

            return text.ToString();
        }

        /// <summary>Makes a Prometheus metric or label name: letters, digits and underscores.</summary>
        private static string Sanitize(string name)
        {
            var chars = name.ToCharArray();
            for (var i = 0; i < chars.Length; i++)
            {
                if (!(char.IsAsciiLetterOrDigit(chars[i]) || chars[i] == '_') || (i == 0 && char.IsAsciiDigit(chars[i])))
                {
                    chars[i] = '_';
                }
            }

            return new string(chars);
        }
    }

    private sealed class Series(int bounds)
    {
        public long[] Buckets { get; } = new long[bounds + 1];

        public double Value { get; set; }

        public long Count { get; set; }
    }
}
