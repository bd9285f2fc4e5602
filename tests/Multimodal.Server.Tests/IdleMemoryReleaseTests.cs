// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Multimodal.Server.Internal;

namespace Multimodal.Server.Tests;

/// <summary>The server gives memory back once it has been idle after serving requests: once per idle period, never
/// without requests, never while one runs, and not at all when turned off.</summary>
public sealed class IdleMemoryReleaseTests
{
    [Fact]
    public async Task AfterRequestsAndAnIdlePeriod_MemoryIsReleasedOnce()
    {
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("fake", FakeChatClient.Answering(["Hello", "."]))
            .Configure(o => o.ReleaseMemoryWhenIdle = TimeSpan.FromMilliseconds(300)));
        using var http = Http.Client(server);
        var release = server.Services.GetRequiredService<IdleMemoryRelease>();

        // Started and idle, but nothing served yet: nothing to give back.
        await Task.Delay(700);
        Assert.Equal(0, release.Releases);

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await PostAsync(http));
        }

        await WaitForAsync(() => release.Releases == 1);

        // A second idle period without requests releases nothing more; a request re-arms it.
        await Task.Delay(700);
        Assert.Equal(1, release.Releases);
        Assert.Equal(HttpStatusCode.OK, await PostAsync(http));
        await WaitForAsync(() => release.Releases == 2);
    }

    [Fact]
    public async Task TurnedOff_NothingIsReleased_AndBadValuesNameTheOption()
    {
        await using var server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("fake", FakeChatClient.Answering(["Hello"]))
            .Configure(o => o.ReleaseMemoryWhenIdle = null));
        using var http = Http.Client(server);
        Assert.Equal(HttpStatusCode.OK, await PostAsync(http));
        await Task.Delay(700);
        Assert.Equal(0, server.Services.GetRequiredService<IdleMemoryRelease>().Releases);

        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s
            .AddModel("fake", FakeChatClient.Answering(["Hello"]))
            .Configure(o => o.ReleaseMemoryWhenIdle = TimeSpan.Zero)));
        Assert.Contains("ReleaseMemoryWhenIdle", ex.Message, StringComparison.Ordinal);
    }

    private static async Task<HttpStatusCode> PostAsync(HttpClient http)
    {
        var (status, body, response) = await Http.PostAsync(http, Http.UserMessage("fake", "\"Hi\""));
        body.Dispose();
        response.Dispose();
        return status;
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(100);
        }

        Assert.True(condition(), "the idle memory release did not run within 10 s");
    }
}
