// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AIChatMessage = Microsoft.Extensions.AI.ChatMessage;
using AIChatRole = Microsoft.Extensions.AI.ChatRole;

namespace Multimodal.Server.Tests;

/// <summary>The real client, the OpenAI .NET SDK, against a real server on the bundled llava-tiny, compared with the model in-process.</summary>
[Collection("llava")]
public sealed class OpenAIClientTests(LlavaFixture llava) : IAsyncLifetime
{
    private const string ShapeQuestion = "What shape is in the image?";

    private MultimodalServer _server = null!;

    public async Task InitializeAsync() => _server = await MultimodalServer.StartAsync(["http://127.0.0.1:0"], s => s.AddModel(llava.Model));

    public async Task DisposeAsync() => await _server.DisposeAsync();

    private ChatClient Sdk() => new(
        "llava-tiny",
        new ApiKeyCredential("unused"),
        new OpenAIClientOptions { Endpoint = new Uri(_server.BaseAddress, "v1"), NetworkTimeout = TimeSpan.FromMinutes(2) });

    private static UserChatMessage ImageQuestion(string sample, string question) =>
        new(ChatMessageContentPart.CreateImagePart(BinaryData.FromBytes(TestModels.SampleBytes(sample)), "image/png"), ChatMessageContentPart.CreateTextPart(question));

    [Fact]
    public async Task Streamed_ImageQuestion_AnswersACircle_AsTheModelDoesInProcess()
    {
        var inProcess = await llava.AskInProcessAsync(ShapeQuestion, ImageContent.FromBytes(TestModels.SampleBytes("red-circle.png"), "image/png"));
        Assert.Equal("A circle.", inProcess.Text);

        var text = new StringBuilder();
        var roles = new List<ChatMessageRole>();
        OpenAI.Chat.ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in Sdk().CompleteChatStreamingAsync([ImageQuestion("red-circle.png", ShapeQuestion)], new ChatCompletionOptions { Temperature = 0f }))
        {
            updates++;
            if (update.Role is { } role)
            {
                roles.Add(role);
            }

            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish = update.FinishReason ?? finish;
            usage = update.Usage ?? usage;
        }

        Assert.Equal("A circle.", text.ToString());
        Assert.Equal(inProcess.Text, text.ToString());
        Assert.Equal([ChatMessageRole.Assistant], roles);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, finish);
        Assert.True(updates > 3, $"Expected the answer in several chunks, got {updates} updates.");

        // The SDK asks for usage (stream_options.include_usage); it equals the model's own count.
        Assert.NotNull(usage);
        var expected = inProcess.Usage!;
        Assert.Equal(expected.InputTokenCount, usage.InputTokenCount);
        Assert.Equal(expected.OutputTokenCount, usage.OutputTokenCount);
        Assert.Equal(usage.InputTokenCount + usage.OutputTokenCount, usage.TotalTokenCount);
    }

    [Fact]
    public async Task NotStreamed_ImageQuestion_ReturnsTheMessageFinishReasonAndUsage()
    {
        var inProcess = await llava.AskInProcessAsync(ShapeQuestion, ImageContent.FromBytes(TestModels.SampleBytes("red-circle.png"), "image/png"));

        ChatCompletion completion = await Sdk().CompleteChatAsync([ImageQuestion("red-circle.png", ShapeQuestion)], new ChatCompletionOptions { Temperature = 0f });

        Assert.Equal("A circle.", completion.Content[0].Text);
        Assert.Equal(ChatMessageRole.Assistant, completion.Role);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal("llava-tiny", completion.Model);
        Assert.StartsWith("chatcmpl-", completion.Id, StringComparison.Ordinal);
        Assert.Equal(inProcess.Usage!.InputTokenCount, completion.Usage.InputTokenCount);
        Assert.Equal(inProcess.Usage.OutputTokenCount, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 64, "The prompt counts the image's 64 visual tokens.");
        Assert.Equal(completion.Usage.InputTokenCount + completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount);
    }

    [Theory]
    [InlineData("red-circle.png", "What colour is the shape?")]
    [InlineData("blue-star.png", "What shape is in the image?")]
    [InlineData("blue-star.png", "What colour is the shape?")]
    [InlineData("three-shapes.png", "How many shapes are there?")]
    public async Task GreedyAnswers_AreTokenForToken_TheInProcessAnswers(string sample, string question)
    {
        var media = ImageContent.FromBytes(TestModels.SampleBytes(sample), "image/png");
        var inProcess = await llava.AskInProcessAsync(question, media);

        // Temperature 0 is greedy decoding: the same answer as GenerationOptions { DoSample = false }, whatever the seed or top-p.
        var greedy = await llava.Model.GenerateAsync([new AIChatMessage(AIChatRole.User, [media, new TextContent(question)])], new GenerationOptions { DoSample = false });
        Assert.Equal(greedy.Text, inProcess.Text);
        Assert.False(string.IsNullOrWhiteSpace(inProcess.Text));

        ChatCompletion completion = await Sdk().CompleteChatAsync([ImageQuestion(sample, question)], new ChatCompletionOptions { Temperature = 0f, TopP = 0.5f });
        Assert.Equal(inProcess.Text, completion.Content[0].Text);
        Assert.Equal(greedy.Usage.CompletionTokens, completion.Usage.OutputTokenCount);
        Assert.Equal(greedy.Usage.PromptTokens, completion.Usage.InputTokenCount);

        var streamed = new StringBuilder();
        await foreach (var update in Sdk().CompleteChatStreamingAsync([ImageQuestion(sample, question)], new ChatCompletionOptions { Temperature = 0f }))
        {
            foreach (var part in update.ContentUpdate)
            {
                streamed.Append(part.Text);
            }
        }

        Assert.Equal(inProcess.Text, streamed.ToString());
    }

    [Fact]
    public async Task TemperatureZero_IsGreedy_EvenWithSeedsAndSamplingParameters()
    {
        using var http = Http.Client(_server);
        var image = Http.ImagePart(TestModels.DataUrl("three-shapes.png", "image/png"));
        var answers = new HashSet<string>();
        foreach (var extra in new[] { """, "temperature": 0, "seed": 1""", """, "temperature": 0, "seed": 2, "top_k": 5, "top_p": 0.9, "min_p": 0.1""", """, "temperature": 0.0""" })
        {
            var (status, body, _) = await Http.PostAsync(http, Http.UserMessage("llava-tiny", $"[{image}, {Http.TextPart("How many shapes are there?")}]", extra));
            Assert.Equal(HttpStatusCode.OK, status);
            answers.Add(body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString()!);
        }

        var greedy = await llava.Model.GenerateAsync(
            [new AIChatMessage(AIChatRole.User, [ImageContent.FromBytes(TestModels.SampleBytes("three-shapes.png"), "image/png"), new TextContent("How many shapes are there?")])],
            new GenerationOptions { DoSample = false });
        Assert.Equal([greedy.Text], answers);

        // And the rule that makes it so: a request's temperature 0 turns sampling off even over a model default that samples.
        var settings = GenerationSettings.Resolve(new GenerationOptions { Temperature = 0f, TopK = 5 }, new GenerationOptions { DoSample = true, Temperature = 0.9f, TopP = 0.8f });
        Assert.False(settings.DoSample);
        Assert.Equal(1, settings.NumBeams);
    }

    [Fact]
    public async Task StreamWithIncludeUsage_HasTheOpenAIChunkLayout()
    {
        using var http = Http.Client(_server);
        var json = Http.UserMessage(
            "llava-tiny",
            $"[{Http.ImagePart(TestModels.DataUrl("red-circle.png", "image/png"))}, {Http.TextPart(ShapeQuestion)}]",
            """, "temperature": 0, "stream": true, "stream_options": {"include_usage": true}""");
        using var response = await Http.PostStreamAsync(http, json);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("no-cache", response.Headers.CacheControl?.ToString());
        var events = await Http.ReadEventsAsync(response);

        Assert.Equal("[DONE]", events[^1]);
        var chunks = events[..^1].Select(e => JsonDocument.Parse(e).RootElement).ToList();
        Assert.All(chunks, c =>
        {
            Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString());
            Assert.Equal("llava-tiny", c.GetProperty("model").GetString());
            Assert.Equal(chunks[0].GetProperty("id").GetString(), c.GetProperty("id").GetString());
        });

        // First: the role. Then content deltas. Then the finish reason. Last: usage with no choices.
        var first = chunks[0].GetProperty("choices")[0];
        Assert.Equal("assistant", first.GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal(JsonValueKind.Null, first.GetProperty("finish_reason").ValueKind);
        var finish = chunks[^2].GetProperty("choices")[0];
        Assert.Equal("stop", finish.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, chunks[^2].GetProperty("usage").ValueKind);
        var usageChunk = chunks[^1];
        Assert.Equal(0, usageChunk.GetProperty("choices").GetArrayLength());
        var usage = usageChunk.GetProperty("usage");
        Assert.Equal(usage.GetProperty("prompt_tokens").GetInt32() + usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("total_tokens").GetInt32());
        Assert.True(usage.GetProperty("completion_tokens").GetInt32() > 0);

        var text = string.Concat(chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray())
            .Select(c => c.GetProperty("delta").TryGetProperty("content", out var content) ? content.GetString() : string.Empty));
        Assert.Equal("A circle.", text);
    }

    [Fact]
    public async Task StreamWithoutIncludeUsage_EndsWithTheFinishChunk()
    {
        using var http = Http.Client(_server);
        var json = Http.UserMessage("llava-tiny", $"[{Http.ImagePart(TestModels.DataUrl("red-circle.png", "image/png"))}, {Http.TextPart(ShapeQuestion)}]", """, "temperature": 0, "stream": true""");
        using var response = await Http.PostStreamAsync(http, json);
        var events = await Http.ReadEventsAsync(response);
        Assert.Equal("[DONE]", events[^1]);
        var last = JsonDocument.Parse(events[^2]).RootElement;
        Assert.Equal("stop", last.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.False(last.TryGetProperty("usage", out _));
    }

    [Fact]
    public async Task MaxTokens_FinishReasonIsLength()
    {
        using var http = Http.Client(_server);
        var (status, body, _) = await Http.PostAsync(http, Http.UserMessage("llava-tiny", $"[{Http.ImagePart(TestModels.DataUrl("red-circle.png", "image/png"))}, {Http.TextPart(ShapeQuestion)}]", """, "temperature": 0, "max_tokens": 1"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("length", body.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(1, body.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task StopSequence_EndsTheAnswerBeforeIt_AsInProcess()
    {
        var media = ImageContent.FromBytes(TestModels.SampleBytes("red-circle.png"), "image/png");
        var inProcess = await llava.Model.GetResponseAsync([new AIChatMessage(AIChatRole.User, [media, new TextContent(ShapeQuestion)])], new ChatOptions { Temperature = 0, StopSequences = ["circle"] });
        Assert.Equal("A ", inProcess.Text);

        var options = new ChatCompletionOptions { Temperature = 0f };
        options.StopSequences.Add("circle");
        ChatCompletion completion = await Sdk().CompleteChatAsync([ImageQuestion("red-circle.png", ShapeQuestion)], options);
        Assert.Equal(inProcess.Text, completion.Content[0].Text);
        Assert.Equal(OpenAI.Chat.ChatFinishReason.Stop, completion.FinishReason);
    }

    [Fact]
    public async Task PdfFilePart_WithPages_AnswersAsTheModelDoesInProcess()
    {
        const string Question = "How many shapes are there?";
        var pdf = TestModels.SampleBytes("shapes.pdf");
        var inProcess = await llava.AskInProcessAsync(Question, new PdfContent(MediaSource.FromBytes(pdf, MediaTypes.Pdf), PageSelection.Parse("3")));
        Assert.Equal("Three.", inProcess.Text);

        using var http = Http.Client(_server);
        var file = """{"type": "file", "file": {"filename": "shapes.pdf", "file_data": "data:application/pdf;base64,""" + Convert.ToBase64String(pdf) + "\"}, \"pages\": \"3\"}";
        var (status, body, _) = await Http.PostAsync(http, Http.UserMessage("llava-tiny", $"[{file}, {Http.TextPart(Question)}]", """, "temperature": 0"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Three.", body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal(inProcess.Usage!.InputTokenCount, body.RootElement.GetProperty("usage").GetProperty("prompt_tokens").GetInt64());

        // Raw base64 with the selection inside "file" is the same request.
        file = "{\"type\": \"file\", \"file\": {\"file_data\": \"" + Convert.ToBase64String(pdf) + "\", \"pages\": \"3\"}}";
        (status, body, _) = await Http.PostAsync(http, Http.UserMessage("llava-tiny", $"[{file}, {Http.TextPart(Question)}]", """, "temperature": 0"""));
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("Three.", body.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task VideoPart_OnAnImageFamily_Is400NamingTheVideoFamilies()
    {
        using var http = Http.Client(_server);
        var video = "{\"type\": \"video_url\", \"video_url\": {\"url\": \"" + TestModels.DataUrl("moving-star.mp4", "video/mp4") + "\", \"num_frames\": 2}}";
        var (status, body, _) = await Http.PostAsync(http, Http.UserMessage("llava-tiny", $"[{video}, {Http.TextPart("Describe the video.")}]"));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var error = Http.AssertError(body, code: "unsupported_request");
        Assert.Contains("use LongVA or AuroraCap for video", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MultiTurnConversation_WithSystemPrompt_IsStateless_AndMatchesInProcess()
    {
        var image = ImageContent.FromBytes(TestModels.SampleBytes("red-circle.png"), "image/png");
        AIChatMessage[] conversation =
        [
            new(AIChatRole.System, "You are a helpful assistant."),
            new(AIChatRole.User, [image, new TextContent(ShapeQuestion)]),
            new(AIChatRole.Assistant, "A circle."),
            new(AIChatRole.User, "What colour is the shape?"),
        ];
        var inProcess = await llava.Model.GetResponseAsync(conversation, new ChatOptions { Temperature = 0 });

        ChatCompletion completion = await Sdk().CompleteChatAsync(
            [
                new SystemChatMessage("You are a helpful assistant."),
                ImageQuestion("red-circle.png", ShapeQuestion),
                new AssistantChatMessage("A circle."),
                new UserChatMessage("What colour is the shape?"),
            ],
            new ChatCompletionOptions { Temperature = 0f });
        Assert.Equal(inProcess.Text, completion.Content[0].Text);
    }
}
