// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Generation;

public class GenerationSettingsTests
{
    [Fact]
    public void Defaults_AreGreedy()
    {
        var s = GenerationSettings.Resolve(null, null);
        Assert.False(s.DoSample);
        Assert.Equal(1, s.NumBeams);
        Assert.Equal(256, s.MaxNewTokens);
    }

    [Fact]
    public void RequestTemperatureAboveZero_TurnsSamplingOn_OverAGreedyModelDefault()
    {
        var s = GenerationSettings.Resolve(new GenerationOptions { Temperature = 0.7f }, new GenerationOptions { DoSample = false, NumBeams = 3 });
        Assert.True(s.DoSample);
        Assert.Equal(0.7f, s.Temperature);
        Assert.Equal(1, s.NumBeams);
    }

    [Fact]
    public void TemperatureZero_IsGreedy()
    {
        var s = GenerationSettings.Resolve(new GenerationOptions { Temperature = 0f }, new GenerationOptions { DoSample = true });
        Assert.False(s.DoSample);
    }

    [Fact]
    public void ModelBeamDefaults_ApplyWhenTheRequestDoesNotSample()
    {
        // MiniCPM-V's non-sampling chat default: 3 beams, repetition penalty 1.2.
        var s = GenerationSettings.Resolve(new GenerationOptions { MaxNewTokens = 10 }, new GenerationOptions { NumBeams = 3, RepetitionPenalty = 1.2f });
        Assert.Equal(3, s.NumBeams);
        Assert.Equal(1.2f, s.RepetitionPenalty);
        Assert.Equal(10, s.MaxNewTokens);
    }

    [Fact]
    public void StopStringsAndIds_AreMergedWithoutDuplicates()
    {
        var s = GenerationSettings.Resolve(new GenerationOptions { StopStrings = ["</s>", "###"], StopTokenIds = [2] }, null, ["</s>"], [2, 7]);
        Assert.Equal(["</s>", "###"], s.StopStrings);
        Assert.Equal([2, 7], s.StopTokenIds);
    }

    [Theory]
    [InlineData(nameof(GenerationOptions.TopP))]
    [InlineData(nameof(GenerationOptions.MaxNewTokens))]
    [InlineData(nameof(GenerationOptions.RepetitionPenalty))]
    [InlineData(nameof(GenerationOptions.NumBeams))]
    public void OutOfRangeValues_ThrowNamingTheOption(string option)
    {
        var o = new GenerationOptions();
        switch (option)
        {
            case nameof(GenerationOptions.TopP): o.TopP = 1.5f; break;
            case nameof(GenerationOptions.MaxNewTokens): o.MaxNewTokens = 0; break;
            case nameof(GenerationOptions.RepetitionPenalty): o.RepetitionPenalty = 0f; break;
            default: o.NumBeams = 0; break;
        }

        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => GenerationSettings.Resolve(o, null));
        Assert.Equal(option, ex.ParamName);
    }

    [Fact]
    public void Clone_CopiesListsIndependently()
    {
        var o = new GenerationOptions { StopStrings = ["a"], AdditionalProperties = new Dictionary<string, object?> { ["k"] = 1 } };
        var c = o.Clone();
        c.StopStrings!.Add("b");
        c.AdditionalProperties!["k"] = 2;
        Assert.Equal(["a"], o.StopStrings);
        Assert.Equal(1, o.AdditionalProperties["k"]);
    }
}
