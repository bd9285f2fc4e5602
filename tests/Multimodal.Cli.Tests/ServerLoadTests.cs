// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Multimodal.Testing;
using Xunit.Abstractions;

namespace Multimodal.Cli.Tests;

/// <summary>The issue's bounded load test: <c>multimodal serve</c> in its own process with the bundled tiny model and a
/// concurrency limit of 2 and a queue of 4; 200 chat completions with images from 16 concurrent clients, each sending
/// its next request when the last one ends (or, after a 429, when <c>Retry-After</c> has passed). Every request either
/// completes with the model's correct greedy answer or is refused with 429 and <c>Retry-After</c>; latency percentiles and
/// throughput are printed and written to <c>artifacts/test/server-load.json</c>; the server's resident memory returns to
/// within 10% of its idle level afterwards.</summary>
public sealed partial class ServerLoadTests(ITestOutputHelper output)
{
    private const int Requests = 200;
    private const int Clients = 16;
    private const int ConcurrencyLimit = 2;
    private const int QueueLimit = 4;

    // Each request asks one of these, with the sample image; the expected answers are the in-process model's greedy
    // answers, which the server must reproduce (asked through the same server before the load starts, and checked
    // against the known answer for the first one).
    private static readonly (string Image, string Question)[] Cases =
    [
        ("red-circle.png", "What shape is in the image?"),
        ("blue-star.png", "What colour is the star?"),
        ("three-shapes.png", "How many shapes are there?"),
        ("blue-star.png", "Describe the image."),
    ];

    [Fact]
    public async Task TwoHundredRequestsFromSixteenClientsCompleteCorrectlyOrGet429AndMemoryReturnsToIdle()
    {
        using var server = await ServerProcess.StartAsync(
            ["--model", RepositoryPaths.Combine("models", "llava-tiny"), "--urls", "http://127.0.0.1:0",
             "--max-concurrency", ConcurrencyLimit.ToString(CultureInfo.InvariantCulture), "--max-queue", QueueLimit.ToString(CultureInfo.InvariantCulture)]);
        using var http = new HttpClient { BaseAddress = server.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };

        // Warm up (loads the model) and learn each case's answer one request at a time.
        var bodies = Cases.Select(c => Body(c.Image, c.Question)).ToArray();
        var expected = new string[Cases.Length];
        for (var i = 0; i < Cases.Length; i++)
        {
            var (status, text, _) = await PostAsync(http, bodies[i]);
            Assert.Equal(HttpStatusCode.OK, status);
            expected[i] = text!;
        }

        Assert.Equal("A circle.", expected[0]);
        var cold = await server.SettledResidentBytesAsync();

        // The idle level is taken after a first, identical burst: the first concurrent traffic grows the process once
        // (tier-1 JIT code, thread-pool threads and their C-library arenas, Kestrel's buffer pools) and later bursts add
        // nothing to it; what the check is after is memory that a burst keeps (a leak, or buffers never given back).
        var warmup = await RunBurstAsync(http, bodies, expected, Requests);
        Assert.Empty(warmup.Other);
        Assert.Empty(warmup.Wrong);
        var idle = await server.SettledResidentBytesAsync();

        var burst = await RunBurstAsync(http, bodies, expected, Requests);
        var (latencies, refusedLatencies, wrong, other, wall) = burst;
        var after = await server.SettledResidentBytesAsync();
        var report = new
        {
            requests = Requests,
            clients = Clients,
            concurrency_limit = ConcurrencyLimit,
            queue_limit = QueueLimit,
            completed = latencies.Count,
            refused_429 = refusedLatencies.Count,
            wall_seconds = Math.Round(wall.TotalSeconds, 3),
            throughput_completed_per_second = Math.Round(latencies.Count / wall.TotalSeconds, 2),
            latency_ms_p50 = Math.Round(Percentile(latencies, 0.50), 1),
            latency_ms_p95 = Math.Round(Percentile(latencies, 0.95), 1),
            latency_ms_max = Math.Round(latencies.DefaultIfEmpty().Max(), 1),
            refused_latency_ms_p50 = Math.Round(Percentile(refusedLatencies, 0.50), 1),
            rss_cold_idle_mb = Math.Round(cold / 1048576.0, 1),
            rss_idle_mb = Math.Round(idle / 1048576.0, 1),
            rss_after_mb = Math.Round(after / 1048576.0, 1),
            rss_peak_mb = Math.Round(server.PeakResidentBytes() / 1048576.0, 1),
            rss_after_over_idle = Math.Round((double)after / idle, 3),
        };
        var json = JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
        output.WriteLine(json);
        var artifact = RepositoryPaths.Combine("artifacts", "test", "server-load.json");
        Directory.CreateDirectory(Path.GetDirectoryName(artifact)!);
        await File.WriteAllTextAsync(artifact, json);

        Assert.Empty(other);
        Assert.Empty(wrong);
        Assert.Equal(Requests, latencies.Count + refusedLatencies.Count);
        Assert.True(latencies.Count >= ConcurrencyLimit, $"only {latencies.Count} requests completed");
        Assert.True(after <= idle * 1.10, $"the server's resident memory is {after / 1048576.0:F1} MB after the load, more than 10% over its idle {idle / 1048576.0:F1} MB");
        var health = await http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private sealed record BurstResult(List<double> Latencies, List<double> RefusedLatencies, List<string> Wrong, List<string> Other, TimeSpan Wall);

    /// <summary>Sends <paramref name="requests"/> requests from <see cref="Clients"/> concurrent clients, each sending its next
    /// request when the last one ends (after a 429, when <c>Retry-After</c> has passed, as a well-behaved client does).</summary>
    private static async Task<BurstResult> RunBurstAsync(HttpClient http, string[] bodies, string[] expected, int requests)
    {
        var latencies = new List<double>();
        var refusedLatencies = new List<double>();
        var wrong = new List<string>();
        var other = new List<string>();
        var next = -1;
        var sync = new object();
        var wall = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, Clients).Select(async _ =>
        {
            int n;
            while ((n = Interlocked.Increment(ref next)) < requests)
            {
                var which = n % bodies.Length;
                var start = Stopwatch.GetTimestamp();
                var (status, text, retryAfter) = await PostAsync(http, bodies[which]);
                var ms = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                lock (sync)
                {
                    if (status == HttpStatusCode.OK)
                    {
                        latencies.Add(ms);
                        if (text != expected[which])
                        {
                            wrong.Add($"request {n}: '{text}' instead of '{expected[which]}'");
                        }
                    }
                    else if (status == HttpStatusCode.TooManyRequests && retryAfter is > 0)
                    {
                        refusedLatencies.Add(ms);
                    }
                    else
                    {
                        other.Add($"request {n}: {(int)status} {text}");
                    }
                }

                if (status == HttpStatusCode.TooManyRequests && retryAfter is > 0)
                {
                    await Task.Delay(TimeSpan.FromSeconds(retryAfter.Value));
                }
            }
        }));
        wall.Stop();
        return new BurstResult(latencies, refusedLatencies, wrong, other, wall.Elapsed);
    }

    private static string Body(string image, string question)
    {
        var data = Convert.ToBase64String(File.ReadAllBytes(RepositoryPaths.Combine("samples", image)));
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("model", "llava-tiny");
            w.WriteNumber("temperature", 0);
            w.WriteNumber("max_tokens", 32);
            w.WriteStartArray("messages");
            w.WriteStartObject();
            w.WriteString("role", "user");
            w.WriteStartArray("content");
            w.WriteStartObject();
            w.WriteString("type", "image_url");
            w.WriteStartObject("image_url");
            w.WriteString("url", "data:image/png;base64," + data);
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteStartObject();
            w.WriteString("type", "text");
            w.WriteString("text", question);
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(stream.ToArray());
    }

    private static async Task<(HttpStatusCode Status, string? Text, double? RetryAfter)> PostAsync(HttpClient http, string body)
    {
        using var content = new StringContent(body, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync("v1/chat/completions", content);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK)
        {
            return (response.StatusCode, text, response.Headers.RetryAfter?.Delta?.TotalSeconds);
        }

        using var doc = JsonDocument.Parse(text);
        return (response.StatusCode, doc.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString(), null);
    }

    private static double Percentile(List<double> values, double p)
    {
        if (values.Count == 0)
        {
            return 0;
        }

        var sorted = values.Order().ToArray();
        var rank = p * (sorted.Length - 1);
        var lo = (int)Math.Floor(rank);
        var hi = Math.Min(lo + 1, sorted.Length - 1);
        return sorted[lo] + ((sorted[hi] - sorted[lo]) * (rank - lo));
    }

    /// <summary><c>multimodal serve</c> as a child process (the CLI's build output sits next to the tests).</summary>
    private sealed partial class ServerProcess : IDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _log = new();

        private ServerProcess(Process process) => _process = process;

        public Uri BaseAddress { get; private set; } = null!;

        public static async Task<ServerProcess> StartAsync(IEnumerable<string> args)
        {
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Multimodal.Cli.dll"));
            info.ArgumentList.Add("serve");
            foreach (var a in args)
            {
                info.ArgumentList.Add(a);
            }

            var server = new ServerProcess(Process.Start(info)!);
            var address = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnLine(string? line)
            {
                if (line is null)
                {
                    address.TrySetException(new InvalidOperationException("multimodal serve exited before listening:\n" + server.Log));
                    return;
                }

                lock (server._log)
                {
                    server._log.AppendLine(line);
                }

                if (UrlPattern().Match(line) is { Success: true } m)
                {
                    address.TrySetResult(new Uri(m.Value.TrimEnd('/') + "/"));
                }
            }

            server._process.OutputDataReceived += (_, e) => OnLine(e.Data);
            server._process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    lock (server._log)
                    {
                        server._log.AppendLine(e.Data);
                    }
                }
            };
            server._process.BeginOutputReadLine();
            server._process.BeginErrorReadLine();
            try
            {
                server.BaseAddress = await address.Task.WaitAsync(TimeSpan.FromSeconds(60));
            }
            catch
            {
                server.Dispose();
                throw;
            }

            return server;
        }

        public string Log
        {
            get
            {
                lock (_log)
                {
                    return _log.ToString();
                }
            }
        }

        /// <summary>Waits past the server's idle memory release (MultimodalServerOptions.ReleaseMemoryWhenIdle, 5 s by default)
        /// and until the resident set stops moving, then reads it.</summary>
        public async Task<long> SettledResidentBytesAsync()
        {
            await Task.Delay(TimeSpan.FromSeconds(6.5));
            var last = ReadStatus("VmRSS");
            for (var i = 0; i < 20; i++)
            {
                await Task.Delay(500);
                var now = ReadStatus("VmRSS");
                if (Math.Abs(now - last) < last / 200)
                {
                    return now;
                }

                last = now;
            }

            return last;
        }

        public long PeakResidentBytes() => ReadStatus("VmHWM");

        private long ReadStatus(string field)
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
                }
            }

            throw new InvalidOperationException($"/proc/{_process.Id}/status has no {field}.");
        }

        public void Dispose()
        {
            try
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                    _process.WaitForExit(10_000);
                }
            }
            finally
            {
                _process.Dispose();
            }
        }

        [GeneratedRegex(@"http://127\.0\.0\.1:\d+/?")]
        private static partial Regex UrlPattern();
    }
}
