// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.Options;

namespace Multimodal.Server;

/// <summary>Limits and behaviour of the OpenAI-compatible server; set them with <c>services.AddMultimodalServer(o => …)</c>.</summary>
/// <remarks>
/// <para>Media limits work like vLLM's <c>limit_mm_per_prompt</c>: a request over a limit is refused with 400 before
/// anything is decoded, and the message names the limit and this option. Images and video frames are counted from the
/// request (a video counts its <c>num_frames</c>, or the model's default frame count); PDF pages are counted from a
/// bounded <c>pages</c> selection. Pages of a PDF sent without one (all pages, or <c>"5-"</c>) are counted while the
/// model renders them, against the model's own <see cref="MultimodalModelOptions.MaxPdfPagesPerRequest"/>; the smaller
/// of the server's and the model's limits always wins.</para>
/// <para>Concurrency: each model has its own slots (<see cref="MaxConcurrentRequestsPerModel"/>) and its own waiting
/// line (<see cref="MaxQueuedRequestsPerModel"/>); a request that finds both full gets 429 with a <c>Retry-After</c>
/// header. A <see cref="MultimodalModel"/> has a generation limit of its own
/// (<see cref="MultimodalModelOptions.MaxConcurrentRequests"/>, fixed when it is built). The server never gives a model
/// more slots than that: a higher server setting is lowered to the model's with a warning in the log, so that no
/// request the server counts as generating is in fact waiting inside the model. Build the model with
/// <c>ConfigureOptions(o =&gt; o.MaxConcurrentRequests = n)</c> to run n requests at once.</para>
/// </remarks>
public sealed class MultimodalServerOptions
{
    /// <summary>The address the server listens on when none is given: port 8080 on the IPv4 loopback interface.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8080";

    /// <summary>Gets or sets how many requests per model generate at the same time.</summary>
    /// <value>The default, <see langword="null"/>, uses a <see cref="MultimodalModel"/>'s own
    /// <see cref="MultimodalModelOptions.MaxConcurrentRequests"/>, and 4 for other chat clients.</value>
    public int? MaxConcurrentRequestsPerModel { get; set; }

    /// <summary>Gets or sets how many requests per model may wait for a generation slot; more get 429.</summary>
    /// <value>The default is 32; 0 refuses every request that finds all slots busy.</value>
    public int MaxQueuedRequestsPerModel { get; set; } = 32;

    /// <summary>Gets or sets the delay a 429 response suggests in its <c>Retry-After</c> header (rounded up to whole seconds).</summary>
    /// <value>The default is 1 second.</value>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Gets or sets the most images one request may carry, over all its messages.</summary>
    /// <value>The default is 16.</value>
    public int MaxImagesPerRequest { get; set; } = 16;

    /// <summary>Gets or sets the most PDF pages one request may select, over all its documents.</summary>
    /// <value>The default is 64.</value>
    public int MaxPdfPagesPerRequest { get; set; } = 64;

    /// <summary>Gets or sets the most video frames one request may sample, over all its videos.</summary>
    /// <value>The default is 256.</value>
    public int MaxVideoFramesPerRequest { get; set; } = 256;

    /// <summary>Gets or sets the largest accepted request body in bytes; a larger body gets 413.</summary>
    /// <value>The default is 64 MiB (base64 media is a third larger than the files).</value>
    public long MaxRequestBodyBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>Gets or sets whether <c>image_url</c> and <c>video_url</c> parts may name <c>http</c> or <c>https</c> URLs, which the server then downloads.</summary>
    /// <value>The default is <see langword="false"/>: only base64 <c>data:</c> URLs are accepted. Enabling it lets any
    /// client make the server fetch any address it can reach, its own network included; enable it only for trusted clients.
    /// Other schemes (<c>file:</c> and the rest) are always refused, in the request and in redirects: a download follows
    /// at most 5 redirects, only to <c>http</c> or <c>https</c> addresses and never from <c>https</c> down to <c>http</c>.</value>
    public bool AllowRemoteMediaUrls { get; set; }

    /// <summary>Gets or sets the largest download accepted for one remote media URL, in bytes.</summary>
    /// <value>The default is 32 MiB.</value>
    public long MaxRemoteMediaBytes { get; set; } = 32L * 1024 * 1024;

    /// <summary>Gets or sets how long one remote media download may take, headers and body together.</summary>
    /// <value>The default is 30 seconds.</value>
    public TimeSpan RemoteMediaTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Gets or sets whether the web chat page is served at <c>/</c>.</summary>
    /// <value>The default is <see langword="true"/>.</value>
    public bool EnableChatPage { get; set; } = true;

    /// <summary>Gets or sets how long the server waits, once no request runs, before it gives the memory the last
    /// requests left behind (decoded media, embeddings, KV caches) back to the operating system, or <see langword="null"/>
    /// to leave that to the runtime.</summary>
    /// <remarks>One aggressive, compacting garbage collection (and on Linux <c>malloc_trim</c> for native libraries),
    /// at most once per idle period and only after requests were served. Without it the process keeps its peak after a
    /// burst until the next one.</remarks>
    /// <value>The default is 5 seconds.</value>
    public TimeSpan? ReleaseMemoryWhenIdle { get; set; } = TimeSpan.FromSeconds(5);
}

/// <summary>Checks <see cref="MultimodalServerOptions"/> when the server starts; each failure names the option.</summary>
internal sealed class MultimodalServerOptionsValidator : IValidateOptions<MultimodalServerOptions>
{
    /// <summary>The largest body the server can buffer (one array).</summary>
    internal const long MaxBufferableBytes = 1L << 30;

    public ValidateOptionsResult Validate(string? name, MultimodalServerOptions options)
    {
        var failures = new List<string>();
        if (options.ReleaseMemoryWhenIdle is { } idle && (idle <= TimeSpan.Zero || idle > TimeSpan.FromDays(1)))
        {
            failures.Add($"ReleaseMemoryWhenIdle must be positive and at most a day, or null to turn it off; got {idle}.");
        }

        if (options.MaxConcurrentRequestsPerModel is < 1 or > 4096)
        {
            failures.Add($"MaxConcurrentRequestsPerModel must be between 1 and 4096; got {options.MaxConcurrentRequestsPerModel}.");
        }

        if (options.MaxQueuedRequestsPerModel is < 0 or > 1_000_000)
        {
            failures.Add($"MaxQueuedRequestsPerModel must be between 0 and 1000000; got {options.MaxQueuedRequestsPerModel}.");
        }

        if (options.RetryAfter < TimeSpan.Zero || options.RetryAfter > TimeSpan.FromDays(1))
        {
            failures.Add($"RetryAfter must be between 0 and one day; got {options.RetryAfter}.");
        }

        if (options.MaxImagesPerRequest < 0)
        {
            failures.Add($"MaxImagesPerRequest must be 0 or more; got {options.MaxImagesPerRequest}.");
        }

        if (options.MaxPdfPagesPerRequest < 0)
        {
            failures.Add($"MaxPdfPagesPerRequest must be 0 or more; got {options.MaxPdfPagesPerRequest}.");
        }

        if (options.MaxVideoFramesPerRequest < 0)
        {
            failures.Add($"MaxVideoFramesPerRequest must be 0 or more; got {options.MaxVideoFramesPerRequest}.");
        }

        if (options.MaxRequestBodyBytes is < 1 or > MaxBufferableBytes)
        {
            failures.Add($"MaxRequestBodyBytes must be between 1 and {MaxBufferableBytes} (1 GiB); got {options.MaxRequestBodyBytes}.");
        }

        if (options.MaxRemoteMediaBytes is < 1 or > MaxBufferableBytes)
        {
            failures.Add($"MaxRemoteMediaBytes must be between 1 and {MaxBufferableBytes} (1 GiB); got {options.MaxRemoteMediaBytes}.");
        }

        if (options.RemoteMediaTimeout <= TimeSpan.Zero || options.RemoteMediaTimeout > TimeSpan.FromHours(1))
        {
            failures.Add($"RemoteMediaTimeout must be positive and at most one hour; got {options.RemoteMediaTimeout}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
