// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Multimodal.Pipeline;
using Multimodal.TestDoubles;

namespace Multimodal.DependencyInjection;

public class DependencyInjectionTests
{
    [Fact]
    public async Task Registration_LoadsNothing_UntilTheFirstRequest()
    {
        // Arrange
        var t = new TestModel();
        var decoderFactoryCalls = 0;
        var services = new ServiceCollection();
        services.AddMultimodalModel()
            .UseTokenizer(t.Tokenizer)
            .UsePromptTemplate(t.Template)
            .UseLanguageDecoder(_ =>
            {
                decoderFactoryCalls++;
                return t.Decoder;
            });

        // Registration adds factories, not instances.
        var descriptor = Assert.Single(services, d => d.ServiceType == typeof(MultimodalModel));
        Assert.NotNull(descriptor.ImplementationFactory);
        Assert.Null(descriptor.ImplementationInstance);
        Assert.Equal(ServiceLifetime.Singleton, descriptor.Lifetime);

        // Act / Assert: building the provider and resolving the model load nothing.
        await using var provider = services.BuildServiceProvider();
        var model = provider.GetRequiredService<MultimodalModel>();
        Assert.Same(model, provider.GetRequiredService<IChatClient>());
        Assert.False(model.IsLoaded);
        Assert.Equal(0, decoderFactoryCalls);

        // The first request loads, once.
        await model.GenerateAsync([new ChatMessage(ChatRole.User, "x")]);
        await model.GenerateAsync([new ChatMessage(ChatRole.User, "y")]);
        Assert.True(model.IsLoaded);
        Assert.Equal(1, decoderFactoryCalls);
    }

    [Fact]
    public async Task KeyedRegistrations_HostSeveralModels_WithTheirOwnOptions()
    {
        var a = new TestModel("alpha");
        var b = new TestModel("beta");
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Models:a:ModelId"] = "model-a",
            ["Models:b:ModelId"] = "model-b",
        }).Build();
        var services = new ServiceCollection();
        services.AddKeyedMultimodalModel("a", config.GetSection("Models:a")).UseTokenizer(a.Tokenizer).UsePromptTemplate(a.Template).UseLanguageDecoder(a.Decoder);
        services.AddKeyedMultimodalModel("b", config.GetSection("Models:b")).UseTokenizer(b.Tokenizer).UsePromptTemplate(b.Template).UseLanguageDecoder(b.Decoder);
        await using var provider = services.BuildServiceProvider();

        var clientA = provider.GetRequiredKeyedService<IChatClient>("a");
        var clientB = provider.GetRequiredKeyedService<IChatClient>("b");

        Assert.Equal("alpha", (await clientA.GetResponseAsync("hi")).Text);
        Assert.Equal("beta", (await clientB.GetResponseAsync("hi")).Text);
        Assert.Equal("model-a", provider.GetRequiredKeyedService<MultimodalModel>("a").ModelId);
        Assert.Equal("model-b", provider.GetRequiredKeyedService<MultimodalModel>("b").ModelId);
    }

    [Theory]
    [InlineData("MaxConcurrentRequests", "0")]
    [InlineData("MaxNewTokens", "-5")]
    [InlineData("TopP", "1.5")]
    public async Task InvalidOptions_FailAtHostStart_WithAMessageNamingTheOption(string option, string value)
    {
        // Arrange
        var t = new TestModel();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [$"Multimodal:{option}"] = value });
        builder.Services.AddMultimodalModel(builder.Configuration.GetSection("Multimodal")).UseTokenizer(t.Tokenizer).UsePromptTemplate(t.Template).UseLanguageDecoder(t.Decoder);
        using var host = builder.Build();

        // Act
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        // Assert
        Assert.Contains(option, ex.Message, StringComparison.Ordinal);
        Assert.False(t.Decoder.ForwardCalls > 0);
    }

    [Fact]
    public async Task ValidOptions_StartTheHost_AndLoadOnStartLoadsTheModel()
    {
        var t = new TestModel();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Multimodal:LoadOnStart"] = "true", ["Multimodal:MaxNewTokens"] = "1" });
        builder.Services.AddMultimodalModel(builder.Configuration.GetSection("Multimodal")).UseTokenizer(t.Tokenizer).UsePromptTemplate(t.Template).UseLanguageDecoder(t.Decoder);
        using var host = builder.Build();

        await host.StartAsync();
        var model = host.Services.GetRequiredService<MultimodalModel>();

        Assert.True(model.IsLoaded);
        Assert.Equal(1, model.Components.GenerationDefaults.MaxNewTokens);
        await host.StopAsync();
    }

    [Fact]
    public async Task ChatClientMiddleware_ComposesAroundTheModel_AndSeesStreamingUpdatesAndUsage()
    {
        // A DelegatingChatClient pipeline, the way Microsoft.Extensions.AI's UseLogging/UseOpenTelemetry wrap a client.
        var t = new TestModel("composed");
        var services = new ServiceCollection();
        var logged = new List<string>();
        services.AddLogging(b => b.AddProvider(new ListLoggerProvider(logged)).SetMinimumLevel(LogLevel.Debug));
        services.AddMultimodalModel().UseModelId("test-model").UseTokenizer(t.Tokenizer).UsePromptTemplate(t.Template).UseLanguageDecoder(t.Decoder);
        services.AddSingleton<IChatClient>(sp => new RecordingChatClient(sp.GetRequiredService<MultimodalModel>()));
        await using var provider = services.BuildServiceProvider();

        var client = provider.GetRequiredService<IChatClient>();
        var response = await client.GetResponseAsync("hi");

        var recorder = Assert.IsType<RecordingChatClient>(client);
        Assert.Equal("composed", response.Text);
        Assert.Equal("composed", string.Concat(recorder.Updates.Select(u => u.Text)));
        Assert.NotNull(response.Usage);
        Assert.Equal("test-model", ((ChatClientMetadata)client.GetService(typeof(ChatClientMetadata))!).DefaultModelId);

        // The model logged its load and its generation through the host's ILoggerFactory.
        Assert.Contains(logged, l => l.StartsWith("Loaded model 'test-model'", StringComparison.Ordinal));
        Assert.Contains(logged, l => l.StartsWith("Generated 9 tokens", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Generation_EmitsAnActivityAndMetrics_ForOpenTelemetry()
    {
        // Listeners are process-wide and tests run in parallel: a unique model id keeps other tests' telemetry out.
        var t = new TestModel("abc");
        var modelId = "telemetry-" + Guid.NewGuid().ToString("N");
        using var model = t.Builder().UseModelId(modelId).Build();
        var activities = new List<Activity>();
        using var activityListener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == MultimodalTelemetry.SourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                lock (activities)
                {
                    activities.Add(a);
                }
            },
        };
        ActivitySource.AddActivityListener(activityListener);
        var completionTokens = 0L;
        using var meterListener = new MeterListener();
        meterListener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == MultimodalTelemetry.SourceName && instrument.Name == "multimodal.tokens")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        meterListener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "multimodal.token.type" && (string?)tag.Value == "completion" && HasModel(tags, modelId))
                {
                    Interlocked.Add(ref completionTokens, value);
                }
            }
        });
        meterListener.Start();

        await model.GenerateAsync([new ChatMessage(ChatRole.User, "x")]);

        var activity = Assert.Single(activities, a => (string?)a.GetTagItem("gen_ai.request.model") == modelId);
        Assert.Equal("multimodal.generate", activity.OperationName);
        Assert.Equal(4, activity.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal(4, Interlocked.Read(ref completionTokens));
    }

    private static bool HasModel(ReadOnlySpan<KeyValuePair<string, object?>> tags, string model)
    {
        foreach (var t in tags)
        {
            if (t.Key == "gen_ai.request.model" && (string?)t.Value == model)
            {
                return true;
            }
        }

        return false;
    }

    private sealed class RecordingChatClient(IChatClient inner) : DelegatingChatClient(inner)
    {
        public List<ChatResponseUpdate> Updates { get; } = [];

        public override async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await foreach (var u in base.GetStreamingResponseAsync(messages, options, cancellationToken))
            {
                Updates.Add(u);
                yield return u;
            }
        }

        public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default) =>
            GetStreamingResponseAsync(messages, options, cancellationToken).ToChatResponseAsync(cancellationToken);
    }

    private sealed class ListLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new ListLogger(lines);

        public void Dispose()
        {
        }

        private sealed class ListLogger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines)
                {
                    lines.Add(formatter(state, exception));
                }
            }
        }
    }
}
