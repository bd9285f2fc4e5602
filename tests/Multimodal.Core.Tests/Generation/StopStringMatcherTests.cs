// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Advanced;

namespace Multimodal.Generation;

public class StopStringMatcherTests
{
    [Fact]
    public void HoldsBackAPossibleStopPrefix_AndDropsTheStopString()
    {
        var m = new StopStringMatcher(["</s>"]);
        Assert.Equal("Hello", m.Append("Hello<"));
        Assert.Equal(string.Empty, m.Append("/"));
        Assert.Equal(string.Empty, m.Append("s>tail"));
        Assert.True(m.Stopped);
        Assert.Equal("</s>", m.MatchedStopString);
        Assert.Equal(string.Empty, m.Flush());
    }

    [Fact]
    public void ReleasesHeldText_WhenItTurnsOutNotToBeAStop()
    {
        var m = new StopStringMatcher(["</s>"]);
        Assert.Equal("a", m.Append("a<"));
        Assert.Equal("<b", m.Append("b"));
        Assert.False(m.Stopped);
        Assert.Equal("x", m.Append("x"));
    }

    [Fact]
    public void FlushReturnsAHeldPrefix_AtTheEnd()
    {
        var m = new StopStringMatcher(["###"]);
        Assert.Equal("done", m.Append("done##"));
        Assert.Equal("##", m.Flush());
    }

    [Fact]
    public void EarliestOfSeveralStopStrings_Wins()
    {
        var m = new StopStringMatcher(["END", "STOP"]);
        Assert.Equal("a ", m.Append("a STOP b END"));
        Assert.Equal("STOP", m.MatchedStopString);
    }
}
