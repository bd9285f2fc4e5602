// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Microsoft.Extensions.AI;
using Multimodal.TestDoubles;

namespace Multimodal.Pipeline;

public class LifetimeTests
{
    [Fact]
    public async Task DisposeDuringARequest_EndsTheRunningAndQueuedRequests_ThenReleasesTheComponents()
    {
        // Arrange: an endless answer, slowed down so that requests overlap Dispose.
        var t = new TestModel(new string('x', 100_000));
        var model = t.Build();
        t.Decoder.OnForward = _ => Thread.Sleep(2);
        var started = new TaskCompletionSource();
        var running = Task.Run(async () =>
        {
            await foreach (var u in model.GenerateStreamingAsync([new ChatMessage(ChatRole.User, "a")]))
            {
                started.TrySetResult();
            }
        });
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var queuedCancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var queued = model.GenerateAsync([new ChatMessage(ChatRole.User, "b")], cancellationToken: queuedCancel.Token);

        // Act
        model.Dispose();

        // Assert: both end promptly with ObjectDisposedException, and only then are the components released.
        await Assert.ThrowsAsync<ObjectDisposedException>(() => running.WaitAsync(TimeSpan.FromSeconds(10)));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => queued.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(t.Decoder.Disposed);
        Assert.True(t.Encoder.Disposed);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => model.GenerateAsync([new ChatMessage(ChatRole.User, "c")]));
    }

    [Fact]
    public async Task DisposeWhileLoading_ReleasesWhatTheLoadProduced()
    {
        var t = new TestModel();
        var release = new TaskCompletionSource();
        var model = t.Builder().AddLoadStep(async (_, _) => await release.Task).Build();
        var load = model.LoadAsync();
        model.Dispose();
        release.SetResult();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => load.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(t.Decoder.Disposed);
    }

    [Fact]
    public async Task AStopStringThatIsASpecialToken_StopsGeneration()
    {
        // The test tokenizer's "<s>" is special, so it is skipped in decoded text and could never match as a string.
        var t = new TestModel("ab");
        var script = new[] { (int)'a', (int)'b', TestTokenizer.Bos, (int)'z', (int)'z' };
        t.Decoder.NextLogits = history =>
        {
            var step = history.Count - 1 - history.AsEnumerable().Reverse().TakeWhile(id => id != ':').Count();
            var k = history.Count - 1 - step;
            return TestLanguageDecoder.OneHot(t.Tokenizer.VocabularySize, k < script.Length ? script[k] : TestTokenizer.Eos);
        };
        using var model = t.Build();

        var result = await model.GenerateAsync([new ChatMessage(ChatRole.User, "q")], new GenerationOptions { StopStrings = ["<s>"], MaxNewTokens = 5 });

        Assert.Equal("ab", result.Text);
        Assert.Equal(GenerationFinishReason.StopToken, result.FinishReason);
    }

    [Theory]
    [InlineData(2.7)]
    [InlineData("three")]
    public async Task NonIntegerNumBeams_IsRejected_NotRounded(object value)
    {
        var t = new TestModel();
        using var model = t.Build();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => ((IChatClient)model).GetResponseAsync("x", new ChatOptions { AdditionalProperties = new() { ["num_beams"] = value } }));
        Assert.Contains("num_beams", ex.Message, StringComparison.Ordinal);
        Assert.Contains("integer", ex.Message, StringComparison.Ordinal);
    }
}
