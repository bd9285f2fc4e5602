// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Multimodal.Testing;

namespace Multimodal.Server.Tests;

/// <summary><c>/v1/models</c>, <c>/health</c>, <c>/metrics</c>, the chat page and unknown endpoints.</summary>
public sealed partial class EndpointTests : IAsyncLifetime
{
    private MultimodalServer _server = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("alpha", FakeChatClient.Answering(["Hel", "lo", "."], promptTokens: 11, completionTokens: 3))
            .AddModel("beta", _ => FakeChatClient.Answering(["Bye."], promptTokens: 5, completionTokens: 2)));
        _http = Http.Client(_server);
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Models_ListsTheServedModels_InTheOpenAIFormat()
    {
        using var response = await _http.GetAsync("v1/models");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("list", doc.RootElement.GetProperty("object").GetString());
        var data = doc.RootElement.GetProperty("data").EnumerateArray().ToList();
        Assert.Equal(["alpha", "beta"], data.Select(m => m.GetProperty("id").GetString()));
        Assert.All(data, m =>
        {
            Assert.Equal("model", m.GetProperty("object").GetString());
            Assert.Equal("multimodal", m.GetProperty("owned_by").GetString());
            Assert.InRange(m.GetProperty("created").GetInt64(), DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds(), DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        });

        using var one = JsonDocument.Parse(await _http.GetStringAsync("v1/models/beta"));
        Assert.Equal("beta", one.RootElement.GetProperty("id").GetString());
        using var missing = await _http.GetAsync("v1/models/gamma");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Http.AssertError(JsonDocument.Parse(await missing.Content.ReadAsStringAsync()), "model", "model_not_found");
    }

    [Fact]
    public async Task Health_IsOkJson_WithEachModelsQueue()
    {
        using var response = await _http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("ok", doc.RootElement.GetProperty("status").GetString());
        var alpha = doc.RootElement.GetProperty("models")[0];
        Assert.Equal("alpha", alpha.GetProperty("id").GetString());
        Assert.Equal(0, alpha.GetProperty("active").GetInt32());
        Assert.Equal(0, alpha.GetProperty("queued").GetInt32());
        Assert.Equal(4, alpha.GetProperty("max_concurrent_requests").GetInt32());
        Assert.Equal(32, alpha.GetProperty("max_queued_requests").GetInt32());
    }

    [Fact]
    public async Task Metrics_AfterRequests_CountRequestsTokensAndLatencies()
    {
        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(_http, Http.UserMessage("alpha", "\"Hi\""))).Status);
        using (var streamed = await Http.PostStreamAsync(_http, Http.UserMessage("alpha", "\"Hi\"", """, "stream": true""")))
        {
            Assert.Equal("[DONE]", (await Http.ReadEventsAsync(streamed))[^1]);
        }

        Assert.Equal(HttpStatusCode.OK, (await Http.PostAsync(_http, Http.UserMessage("beta", "\"Hi\""))).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await Http.PostAsync(_http, Http.UserMessage("alpha", "\"Hi\"", """, "n": 3"""))).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await Http.PostAsync(_http, Http.UserMessage("gamma", "\"Hi\""))).Status);

        using var response = await _http.GetAsync("metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/plain; version=0.0.4; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        var text = await response.Content.ReadAsStringAsync();
        var samples = ParseSamples(text);

        Assert.Equal(2, samples["multimodal_server_requests_total{model=\"alpha\",status=\"200\"}"]);
        Assert.Equal(1, samples["multimodal_server_requests_total{model=\"alpha\",status=\"400\"}"]);
        Assert.Equal(1, samples["multimodal_server_requests_total{model=\"beta\",status=\"200\"}"]);
        Assert.Equal(1, samples["multimodal_server_requests_total{model=\"\",status=\"404\"}"]);
        Assert.Equal(22, samples["multimodal_server_prompt_tokens_total{model=\"alpha\"}"]);
        Assert.Equal(6, samples["multimodal_server_completion_tokens_total{model=\"alpha\"}"]);
        Assert.Equal(5, samples["multimodal_server_prompt_tokens_total{model=\"beta\"}"]);
        Assert.Equal(2, samples["multimodal_server_completion_tokens_total{model=\"beta\"}"]);

        // Histograms: every request has a duration, and the generated ones a time to first token; buckets are cumulative.
        Assert.Equal(3, samples["multimodal_server_request_duration_seconds_count{model=\"alpha\"}"]);
        Assert.Equal(3, samples["multimodal_server_request_duration_seconds_bucket{model=\"alpha\",le=\"+Inf\"}"]);
        Assert.True(samples["multimodal_server_request_duration_seconds_sum{model=\"alpha\"}"] > 0);
        Assert.Equal(2, samples["multimodal_server_time_to_first_token_seconds_count{model=\"alpha\"}"]);
        Assert.Equal(1, samples["multimodal_server_time_to_first_token_seconds_count{model=\"beta\"}"]);
        var buckets = samples.Where(s => s.Key.StartsWith("multimodal_server_request_duration_seconds_bucket{model=\"alpha\"", StringComparison.Ordinal)).Select(s => s.Value).ToList();
        Assert.Equal(17, buckets.Count);
        Assert.Equal(buckets.Order(), buckets);

        // Gauges: nothing runs or waits now.
        Assert.Equal(0, samples["multimodal_server_requests_active{model=\"alpha\"}"]);
        Assert.Equal(0, samples["multimodal_server_requests_queued{model=\"beta\"}"]);
        Assert.Contains("# TYPE multimodal_server_requests_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE multimodal_server_request_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE multimodal_server_requests_queued gauge", text, StringComparison.Ordinal);
        Assert.Contains("# HELP multimodal_server_requests_total ", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_OfTwoServers_StayApart()
    {
        await using var other = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel("alpha", FakeChatClient.Answering(["x"])));
        using var http = Http.Client(other);
        await Http.PostAsync(http, Http.UserMessage("alpha", "\"Hi\""));
        var samples = ParseSamples(await http.GetStringAsync("metrics"));
        Assert.Equal(1, samples["multimodal_server_requests_total{model=\"alpha\",status=\"200\"}"]);
        Assert.DoesNotContain(samples.Keys, k => k.Contains("beta", StringComparison.Ordinal));
    }

    [Fact]
    public async Task UnknownApiEndpoint_Is404InTheOpenAIFormat()
    {
        using var response = await _http.GetAsync("v1/embeddings");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Http.AssertError(JsonDocument.Parse(await response.Content.ReadAsStringAsync()), code: "unknown_url");
    }

    [Fact]
    public async Task ChatPage_ServesEveryEmbeddedFile_WithItsTypeAndCacheHeaders()
    {
        var wwwroot = RepositoryPaths.Combine("src", "Multimodal.Server", "wwwroot");
        var files = Directory.GetFiles(wwwroot, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => Path.GetFileName(f) == "index.html");
        foreach (var file in files)
        {
            var path = Path.GetRelativePath(wwwroot, file).Replace('\\', '/');
            using var response = await _http.GetAsync(path);
            Assert.True(response.StatusCode == HttpStatusCode.OK, path);
            Assert.Equal(await File.ReadAllBytesAsync(file), await response.Content.ReadAsByteArrayAsync());
            var expected = Path.GetExtension(file) switch
            {
                ".html" => "text/html",
                ".js" => "text/javascript",
                ".css" => "text/css",
                ".svg" => "image/svg+xml",
                ".png" => "image/png",
                ".ico" => "image/x-icon",
                ".json" => "application/json",
                _ => null,
            };
            if (expected is not null)
            {
                Assert.Equal(expected, response.Content.Headers.ContentType?.MediaType);
            }

            Assert.True(response.Headers.CacheControl?.NoCache, path);
            Assert.NotNull(response.Headers.ETag);
            Assert.Equal("nosniff", Assert.Single(response.Headers.GetValues("X-Content-Type-Options")));
            Assert.Contains("default-src 'self'", Assert.Single(response.Headers.GetValues("Content-Security-Policy")), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ChatPage_RootIsIndexHtml_AndAnUnchangedFileIs304()
    {
        using var root = await _http.GetAsync(string.Empty);
        Assert.Equal(HttpStatusCode.OK, root.StatusCode);
        Assert.Equal("text/html", root.Content.Headers.ContentType?.MediaType);
        Assert.Equal("utf-8", root.Content.Headers.ContentType?.CharSet);
        var html = await root.Content.ReadAsStringAsync();
        Assert.Equal(await File.ReadAllTextAsync(RepositoryPaths.Combine("src", "Multimodal.Server", "wwwroot", "index.html")), html);

        using var request = new HttpRequestMessage(HttpMethod.Get, "index.html");
        request.Headers.IfNoneMatch.Add(root.Headers.ETag!);
        using var again = await _http.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotModified, again.StatusCode);

        using var head = await _http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/"));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(html.Length > 0, head.Content.Headers.ContentLength > 0);

        using var missing = await _http.GetAsync("no-such-file.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        using var traversal = await _http.GetAsync("..%2F..%2Fappsettings.json");
        Assert.Equal(HttpStatusCode.NotFound, traversal.StatusCode);
    }

    [Fact]
    public async Task ChatPage_Disabled_Is404()
    {
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel("alpha", FakeChatClient.Answering(["x"])).Configure(o => o.EnableChatPage = false));
        using var http = Http.Client(server);
        using var root = await http.GetAsync(string.Empty);
        Assert.Equal(HttpStatusCode.NotFound, root.StatusCode);
        using var index = await http.GetAsync("index.html");
        Assert.Equal(HttpStatusCode.NotFound, index.StatusCode);
        using var health = await http.GetAsync("health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    private static Dictionary<string, double> ParseSamples(string text)
    {
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"Not a Prometheus sample: {line}");
            samples.Add(match.Groups[1].Value, double.Parse(match.Groups[2].Value.Replace("+Inf", "Infinity", StringComparison.Ordinal), CultureInfo.InvariantCulture));
        }

        return samples;
    }

    [GeneratedRegex("""^([a-z_]+(?:\{[^}]*\})?) (\S+)$""")]
    private static partial Regex SampleLine();
}
