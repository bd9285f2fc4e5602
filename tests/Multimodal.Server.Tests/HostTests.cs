// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Multimodal.Server.Tests;

/// <summary>The <see cref="MultimodalServer"/> host, and the DI and endpoint API for applications with a host of their own.</summary>
public sealed class HostTests
{
    [Fact]
    public async Task PortZero_BindsAFreePort_ReadableAsBaseAddress()
    {
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel("fake", FakeChatClient.Answering(["x"])));
        Assert.Equal("127.0.0.1", server.BaseAddress.Host);
        Assert.NotEqual(0, server.BaseAddress.Port);
        Assert.EndsWith("/", server.BaseAddress.ToString(), StringComparison.Ordinal);
        Assert.Equal(server.BaseAddress, Assert.Single(server.Addresses));
        using var http = Http.Client(server);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("health")).StatusCode);
    }

    [Fact]
    public async Task WildcardBinding_GivesALoopbackBaseAddress()
    {
        await using var server = await MultimodalServer.StartAsync(["http://0.0.0.0:0"], s => s.AddModel("fake", FakeChatClient.Answering(["x"])));
        Assert.Equal("127.0.0.1", server.BaseAddress.Host);
        using var http = Http.Client(server);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("health")).StatusCode);
    }

    [Fact]
    public async Task DefaultUrl_IsLoopbackPort8080()
    {
        Assert.Equal("http://127.0.0.1:8080", MultimodalServerOptions.DefaultUrl);
        try
        {
            await using var server = await MultimodalServer.StartAsync(s => s.AddModel("fake", FakeChatClient.Answering(["x"])));
            Assert.Equal(new Uri("http://127.0.0.1:8080/"), server.BaseAddress);
        }
        catch (IOException ex) when (ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException)
        {
            // Something else on this machine holds 8080; the server said so rather than binding elsewhere.
        }
    }

    [Fact]
    public async Task AddressInUse_FailsToStart()
    {
        await using var first = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel("fake", FakeChatClient.Answering(["x"])));
        await Assert.ThrowsAsync<IOException>(() => MultimodalServer.StartAsync([first.BaseAddress.ToString().TrimEnd('/')], s => s.AddModel("fake", FakeChatClient.Answering(["x"]))));
    }

    [Theory]
    [InlineData("127.0.0.1:8080")]
    [InlineData("ftp://127.0.0.1:21")]
    [InlineData("https://127.0.0.1:8443")]
    [InlineData("not a url")]
    public async Task InvalidUrl_IsRefused(string url) =>
        await Assert.ThrowsAsync<ArgumentException>(() => MultimodalServer.StartAsync([url], s => s.AddModel("fake", FakeChatClient.Answering(["x"]))));

    [Fact]
    public async Task NoUrl_IsRefused() =>
        await Assert.ThrowsAsync<ArgumentException>(() => MultimodalServer.StartAsync([], s => s.AddModel("fake", FakeChatClient.Answering(["x"]))));

    [Fact]
    public async Task InvalidOptions_FailTheStart_NamingTheOption()
    {
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("fake", FakeChatClient.Answering(["x"]))
            .Configure(o =>
            {
                o.MaxQueuedRequestsPerModel = -1;
                o.MaxRequestBodyBytes = 0;
            })));
        Assert.Contains("MaxQueuedRequestsPerModel", ex.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRequestBodyBytes", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DuplicateModelId_IsRefused()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("same", FakeChatClient.Answering(["x"]))
            .AddModel("same", _ => FakeChatClient.Answering(["y"]))));
        Assert.Contains("same", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailingModelFactory_FailsTheStart()
    {
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel("broken", _ => throw new InvalidOperationException("no such engine"))));
        Assert.Contains("no such engine", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FactoryClients_AreDisposedWithTheServer_InstancesAreNot()
    {
        var instance = FakeChatClient.Answering(["x"]);
        FakeChatClient? created = null;
        var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("instance", instance)
            .AddModel("created", _ => created = FakeChatClient.Answering(["y"])));
        Assert.NotNull(created);
        await server.DisposeAsync();
        await server.DisposeAsync();
        Assert.True(created.Disposed);
        Assert.False(instance.Disposed);
    }

    [Fact]
    public async Task OwnHost_WithAddMultimodalServerAndMapMultimodalServer()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddMultimodalServer(o => o.MaxImagesPerRequest = 1).AddModel("fake", FakeChatClient.Answering(["Hi there."]));
        builder.Services.AddMultimodalServer().AddModel("second", FakeChatClient.Answering(["Second."]));
        await using var app = builder.Build();
        app.MapGet("/own", () => "mine");
        app.MapMultimodalServer();
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First() + "/") };

        Assert.Equal("mine", await http.GetStringAsync("own"));
        var (status, body, _) = await Http.PostAsync(http, Http.UserMessage("second", "\"Hi\""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Second.", body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        var image = Http.ImagePart(TestModels.DataUrl("red-circle.png", "image/png"));
        (status, _, _) = await Http.PostAsync(http, Http.UserMessage("fake", $"[{image}, {image}]"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        using var models = JsonDocument.Parse(await http.GetStringAsync("v1/models"));
        Assert.Equal(2, models.RootElement.GetProperty("data").GetArrayLength());
        await app.StopAsync();
    }

    [Fact]
    public void MapWithoutAdd_SaysWhatIsMissing()
    {
        var app = WebApplication.CreateSlimBuilder().Build();
        var ex = Assert.Throws<InvalidOperationException>(() => app.MapMultimodalServer());
        Assert.Contains("AddMultimodalServer", ex.Message, StringComparison.Ordinal);
    }
}
