// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Multimodal.Testing;

namespace Multimodal.Backends.Remote;

/// <summary>One registration call gives an application an <see cref="IChatClient"/> backed by a remote engine.</summary>
public sealed class DependencyInjectionTests : IAsyncLifetime
{
    private FakeEngine _engine = null!;

    public async Task InitializeAsync() => _engine = await FakeEngine.StartAsync();

    public async Task DisposeAsync() => await _engine.DisposeAsync();

    [Fact]
    public async Task AddRemoteChatClient_RegistersASingletonIChatClient_ThatApplicationCodeUses()
    {
        // Arrange
        var services = new ServiceCollection();
        services.AddRemoteChatClient(_engine.Endpoint, "llava-hf/llava-1.5-7b-hf", o => o.MaxRetries = 0);
        await using var provider = services.BuildServiceProvider();

        // Act
        var chat = provider.GetRequiredService<IChatClient>();
        var answer = await DescribeAsync(chat);

        // Assert
        Assert.Same(provider.GetRequiredService<RemoteChatClient>(), chat);
        Assert.Same(chat, provider.GetRequiredService<IChatClient>());
        Assert.Equal("ok", answer);
        Assert.Equal("llava-hf/llava-1.5-7b-hf", _engine.Single.Body.GetProperty("model").GetString());
        var metadata = chat.GetService<ChatClientMetadata>()!;
        Assert.Equal(("openai-compatible", "llava-hf/llava-1.5-7b-hf"), (metadata.ProviderName, metadata.DefaultModelId));
    }

    [Fact]
    public async Task AConfigurationSection_BindsEveryOption_AndExtraBodyAsJson()
    {
        // Arrange
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Remote:Endpoint"] = _engine.Endpoint.ToString(),
            ["Remote:Model"] = "rhymes-ai/Aria",
            ["Remote:ApiKey"] = "secret",
            ["Remote:Timeout"] = "00:02:00",
            ["Remote:MaxRetries"] = "5",
            ["Remote:InitialBackoff"] = "00:00:01",
            ["Remote:MaxBackoff"] = "00:00:10",
            ["Remote:PdfMode"] = "passthrough",
            ["Remote:PdfZoom"] = "1.5",
            ["Remote:LabelPdfPages"] = "false",
            ["Remote:VideoMode"] = "PassThrough",
            ["Remote:VideoFrames"] = "16",
            ["Remote:LabelVideoFrames"] = "true",
            ["Remote:MaxImagesPerRequest"] = "12",
            ["Remote:ExtraBody:repetition_penalty"] = "1.05",
            ["Remote:ExtraBody:mm_processor_kwargs:split_image"] = "true",
            ["Remote:ExtraBody:stop_token_ids:0"] = "93532",
            ["Remote:ExtraBody:stop_token_ids:1"] = "93653",
            ["Remote:ExtraBody:note"] = "hello",
        }).Build();
        var services = new ServiceCollection();
        services.AddRemoteChatClient(configuration.GetSection("Remote"), o => o.MaxRetries = 4);
        await using var provider = services.BuildServiceProvider();

        // Act
        var options = provider.GetRequiredService<IOptionsMonitor<RemoteChatClientOptions>>().Get(Options.DefaultName);
        await provider.GetRequiredService<IChatClient>().GetResponseAsync([new ChatMessage(ChatRole.User, "Hi")]);

        // Assert
        Assert.Equal(("rhymes-ai/Aria", "secret"), (options.Model, options.ApiKey));
        Assert.Equal((TimeSpan.FromMinutes(2), 4, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10)), (options.Timeout, options.MaxRetries, options.InitialBackoff, options.MaxBackoff));
        Assert.Equal((RemotePdfMode.PassThrough, 1.5, false), (options.PdfMode, options.PdfZoom, options.LabelPdfPages));
        Assert.Equal((RemoteVideoMode.PassThrough, 16, true, 12), (options.VideoMode, options.VideoFrames, options.LabelVideoFrames, options.MaxImagesPerRequest));
        var body = _engine.Single.Body;
        Assert.Equal("Bearer secret", _engine.Single.Authorization);
        Assert.Equal(1.05, body.GetProperty("repetition_penalty").GetDouble());
        Assert.True(body.GetProperty("mm_processor_kwargs").GetProperty("split_image").GetBoolean());
        Assert.Equal([93532, 93653], body.GetProperty("stop_token_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("hello", body.GetProperty("note").GetString());
    }

    [Fact]
    public void InvalidOptions_FailAtResolution_NamingEachOption()
    {
        var services = new ServiceCollection();
        services.AddRemoteChatClient(new Uri("v1", UriKind.Relative), " ", o =>
        {
            o.Timeout = TimeSpan.FromSeconds(-1);
            o.MaxRetries = -2;
            o.MaxImagesPerRequest = 0;
        });
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());

        Assert.Contains("RemoteChatClientOptions.Endpoint must be an absolute http or https address", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RemoteChatClientOptions.Model is required", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RemoteChatClientOptions.Timeout must be positive", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RemoteChatClientOptions.MaxRetries", ex.Message, StringComparison.Ordinal);
        Assert.Contains("RemoteChatClientOptions.MaxImagesPerRequest", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvalidOptions_FailWhenTheHostStarts()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddRemoteChatClient(new Uri("ftp://example.com/v1"), "m");
        using var host = builder.Build();

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("RemoteChatClientOptions.Endpoint", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ftp://example.com/v1", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownKeysAndUnreadableValues_NameTheirConfigurationPath()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Remote:Endpoint"] = "http://localhost:8000/v1",
            ["Remote:Model"] = "m",
            ["Remote:Timout"] = "00:00:30",
            ["Remote:MaxRetries"] = "three",
            ["Remote:Timeout"] = "30",
            ["Remote:PdfMode"] = "Pictures",
        }).Build();
        var services = new ServiceCollection();
        services.AddRemoteChatClient(configuration.GetSection("Remote"));
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IChatClient>());

        Assert.Contains("Remote:Timout is not a known key", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Remote:MaxRetries = 'three' is not valid", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Remote:Timeout = '30' is not valid: expected a duration as hh:mm:ss", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Remote:PdfMode = 'Pictures' is not valid: expected Images or PassThrough", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task KeyedRegistrations_HostSeveralEngines()
    {
        var services = new ServiceCollection();
        services.AddKeyedRemoteChatClient("aria", _engine.Endpoint, "rhymes-ai/Aria");
        services.AddKeyedRemoteChatClient("llava", _engine.Endpoint, "llava-hf/llava-1.5-7b-hf", o => o.ExtraBody["top_k"] = 5);
        await using var provider = services.BuildServiceProvider();

        var aria = provider.GetRequiredKeyedService<IChatClient>("aria");
        var llava = provider.GetRequiredKeyedService<IChatClient>("llava");
        await aria.GetResponseAsync([new ChatMessage(ChatRole.User, "a")]);
        await llava.GetResponseAsync([new ChatMessage(ChatRole.User, "b")]);

        Assert.NotSame(aria, llava);
        Assert.Same(llava, provider.GetRequiredKeyedService<RemoteChatClient>("llava"));
        Assert.Null(provider.GetService<IChatClient>());
        var bodies = _engine.Requests.Select(r => r.Body).ToList();
        Assert.Equal(["rhymes-ai/Aria", "llava-hf/llava-1.5-7b-hf"], bodies.Select(b => b.GetProperty("model").GetString()));
        Assert.False(bodies[0].TryGetProperty("top_k", out _));
        Assert.Equal(5, bodies[1].GetProperty("top_k").GetInt32());
    }

    [Fact]
    public async Task MediaDecodersRegisteredInTheContainer_AreUsed()
    {
        var services = new ServiceCollection();
        services.AddMultimodalPdf();
        services.AddRemoteChatClient(_engine.Endpoint, "rhymes-ai/Aria");
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<IChatClient>().GetResponseAsync(
            [new ChatMessage(ChatRole.User, [new PdfContent(MediaSource.FromFile(RepositoryPaths.Combine("samples", "shapes.pdf"))), new TextContent("Summarise.")])]);

        var parts = MediaTests.Parts(_engine.Single.Body, 0);
        Assert.Equal(3, parts.Count(p => p.GetProperty("type").GetString() == "image_url"));
    }

    [Fact]
    public void RegistrationArguments_AreChecked()
    {
        var services = new ServiceCollection();

        Assert.Equal("endpoint", Assert.Throws<ArgumentNullException>(() => services.AddRemoteChatClient((Uri)null!, "m")).ParamName);
        Assert.Equal("model", Assert.Throws<ArgumentNullException>(() => services.AddRemoteChatClient(new Uri("http://x/v1"), null!)).ParamName);
        Assert.Equal("serviceKey", Assert.Throws<ArgumentException>(() => services.AddKeyedRemoteChatClient(string.Empty, new Uri("http://x/v1"), "m")).ParamName);
        Assert.Empty(services);
    }

    [Fact]
    public void TheConstructor_RefusesInvalidOptions_NamingThem()
    {
        var ex = Assert.Throws<ArgumentException>(() => new RemoteChatClient(new RemoteChatClientOptions { Endpoint = new Uri("http://x/v1") }));

        Assert.Equal("options", ex.ParamName);
        Assert.Contains("RemoteChatClientOptions.Model is required", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ChecksBackoffOrderZoomFramesAndReservedExtraFields()
    {
        var options = new RemoteChatClientOptions
        {
            Endpoint = new Uri("https://x/v1"),
            Model = "m",
            InitialBackoff = TimeSpan.FromSeconds(10),
            MaxBackoff = TimeSpan.FromSeconds(1),
            PdfZoom = 0,
            VideoFrames = 0,
        };
        options.ExtraBody["stream"] = true;

        var failures = options.Validate();

        Assert.Equal(4, failures.Count);
        Assert.Contains(failures, f => f.StartsWith("RemoteChatClientOptions.MaxBackoff", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("RemoteChatClientOptions.PdfZoom", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("RemoteChatClientOptions.VideoFrames", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("RemoteChatClientOptions.ExtraBody must not set 'stream'", StringComparison.Ordinal));
        Assert.Empty(new RemoteChatClientOptions { Endpoint = new Uri("http://localhost:8000/v1"), Model = "m" }.Validate());
    }

    /// <summary>Application code: written against <see cref="IChatClient"/> only, so it runs unchanged in process or against an engine.</summary>
    private static async Task<string> DescribeAsync(IChatClient chat)
    {
        var response = await chat.GetResponseAsync(
            [new ChatMessage(ChatRole.User, [ImageContent.FromFile(RepositoryPaths.Combine("samples", "red-circle.png")), new TextContent("What shape is in the image?")])],
            new ChatOptions { MaxOutputTokens = 32, Temperature = 0 });
        return response.Text;
    }
}
