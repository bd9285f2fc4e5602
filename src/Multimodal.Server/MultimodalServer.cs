// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Multimodal.Server;

/// <summary>A ready-made host: an ASP.NET Core application on Kestrel that serves models over the OpenAI chat completions API.</summary>
/// <remarks>
/// <code>
/// await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel(model));
/// var client = new OpenAI.Chat.ChatClient(model.ModelId, new ApiKeyCredential("unused"),
///     new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1") });
/// </code>
/// <para>The host reads no configuration files or command line, logs nowhere unless <c>configure</c> adds a provider
/// (<c>s.Services.AddLogging(...)</c>), and does not handle Ctrl+C or SIGTERM itself: the caller decides when to stop,
/// with <see cref="StopAsync"/> or <see cref="DisposeAsync"/>. Stopping cancels the generations in progress (a stream
/// ends with an error event), answers requests still waiting for a slot with 503, and waits for the requests to finish.
/// Applications that have a host of their own use <c>services.AddMultimodalServer()</c> and
/// <c>app.MapMultimodalServer()</c> instead.</para>
/// </remarks>
public sealed class MultimodalServer : IAsyncDisposable
{
    /// <summary>The name of the <see cref="System.Diagnostics.Metrics.Meter"/> the server records on (requests by model and
    /// status code, prompt and completion tokens, request duration and time to first token, active and queued requests).</summary>
    public const string MeterName = "Multimodal.Server";

    private readonly WebApplication _app;
    private int _disposed;

    private MultimodalServer(WebApplication app, IReadOnlyList<Uri> addresses)
    {
        _app = app;
        Addresses = addresses;
        BaseAddress = ConnectableAddress(addresses[0]);
    }

    /// <summary>Gets the addresses the server listens on, as bound (a port of 0 replaced by the port chosen).</summary>
    public IReadOnlyList<Uri> Addresses { get; }

    /// <summary>Gets the first address, ending with <c>/</c>, for clients: <c>new Uri(server.BaseAddress, "v1")</c> is the OpenAI endpoint.</summary>
    /// <remarks>A wildcard binding (<c>0.0.0.0</c>, <c>[::]</c>) is given as the matching loopback address.</remarks>
    public Uri BaseAddress { get; }

    /// <summary>Gets the host's services.</summary>
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts a server on <see cref="MultimodalServerOptions.DefaultUrl"/> (<c>http://127.0.0.1:8080</c>).</summary>
    /// <param name="configure">Adds the models and sets options.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server, which the caller disposes.</returns>
    /// <exception cref="IOException">The address is in use.</exception>
    public static Task<MultimodalServer> StartAsync(Action<MultimodalServerBuilder> configure, CancellationToken cancellationToken = default) =>
        StartAsync([MultimodalServerOptions.DefaultUrl], configure, cancellationToken);

    /// <summary>Starts a server on the given addresses.</summary>
    /// <param name="urls">Absolute <c>http</c> URLs such as <c>http://127.0.0.1:8080</c>; port 0 picks a free port (read it from
    /// <see cref="BaseAddress"/>), and <c>http://0.0.0.0:8080</c> listens on every interface. This host speaks plain HTTP.</param>
    /// <param name="configure">Adds the models and sets options.</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <returns>The running server, which the caller disposes.</returns>
    /// <exception cref="ArgumentException">No URL is given, or one is not an absolute http URL.</exception>
    /// <exception cref="IOException">An address is in use.</exception>
    /// <exception cref="Microsoft.Extensions.Options.OptionsValidationException">An option is out of range; the message names it.</exception>
    public static async Task<MultimodalServer> StartAsync(IEnumerable<string> urls, Action<MultimodalServerBuilder> configure, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(urls);
        ArgumentNullException.ThrowIfNull(configure);
        string[] list = [.. urls];
        if (list.Length == 0)
        {
            throw new ArgumentException("At least one URL is required, for example http://127.0.0.1:8080.", nameof(urls));
        }

        foreach (var url in list)
        {
            if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)
                || uri.Scheme != Uri.UriSchemeHttp)
            {
                throw new ArgumentException($"'{url}' is not an absolute http URL such as http://127.0.0.1:8080. For HTTPS, put a reverse proxy in front, or map the endpoints in a host of your own (MapMultimodalServer).", nameof(urls));
            }
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(MultimodalServer).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        builder.Services.AddSingleton<IHostLifetime, CallerControlledLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.WebHost.UseUrls(list);
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        configure(builder.Services.AddMultimodalServer());

        var app = builder.Build();
        try
        {
            app.MapMultimodalServer();
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            Uri[] addresses = [.. bound.Select(a => new Uri(a.EndsWith('/') ? a : a + "/"))];
            if (addresses.Length == 0)
            {
                throw new InvalidOperationException("The server started but reports no address.");
            }

            return new MultimodalServer(app, addresses);
        }
        catch
        {
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Stops listening, cancels the generations in progress and waits for the requests to end.</summary>
    /// <param name="cancellationToken">Ends the graceful wait early.</param>
    /// <returns>A task that completes when the server has stopped.</returns>
    public Task StopAsync(CancellationToken cancellationToken = default) => _app.StopAsync(cancellationToken);

    /// <summary>Stops the server (if it still runs) and releases it. Models added as instances are not disposed.</summary>
    /// <returns>A task that completes when the server is released.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await _app.StopAsync().ConfigureAwait(false);
        }
        finally
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"MultimodalServer {BaseAddress}";

    private static Uri ConnectableAddress(Uri address) => address.Host switch
    {
        "0.0.0.0" => new UriBuilder(address) { Host = "127.0.0.1" }.Uri,
        "[::]" or "::" => new UriBuilder(address) { Host = "[::1]" }.Uri,
        _ => address,
    };

    /// <summary>A lifetime that leaves signals to the caller (the default one would take over Ctrl+C in the embedding process).</summary>
    private sealed class CallerControlledLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
