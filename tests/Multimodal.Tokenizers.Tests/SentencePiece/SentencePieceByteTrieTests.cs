// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>The double-array trie behind piece lookups.</summary>
public sealed class SentencePieceByteTrieTests
{
    [Fact]
    public void Build_FindsEveryKeyAndNothingElse()
    {
        // Arrange: many keys sharing prefixes, with every byte value somewhere.
        var random = new Random(42);
        var keys = new Dictionary<string, int>(StringComparer.Ordinal);
        while (keys.Count < 20_000)
        {
            var bytes = new byte[random.Next(1, 12)];
            random.NextBytes(bytes);
            bytes[0] = (byte)random.Next(4);
            keys.TryAdd(Convert.ToHexString(bytes), keys.Count);
        }

        var entries = keys.Select(k => (Convert.FromHexString(k.Key), k.Value)).ToList();

        // Act
        var trie = SentencePieceByteTrie.Build(entries);

        // Assert
        Assert.Equal(keys.Count, trie.Count);
        foreach (var (key, value) in entries)
        {
            Assert.Equal(value, trie.ExactMatch(key));
            if (!keys.ContainsKey(Convert.ToHexString(key.AsSpan(0, key.Length - 1))))
            {
                Assert.Equal(-1, trie.ExactMatch(key.AsSpan(0, key.Length - 1)));
            }
        }

        for (var i = 0; i < 20_000; i++)
        {
            var probe = new byte[random.Next(1, 12)];
            random.NextBytes(probe);
            Assert.Equal(keys.TryGetValue(Convert.ToHexString(probe), out var value) ? value : -1, trie.ExactMatch(probe));
        }
    }

    [Fact]
    public void Build_FirstDuplicateWins_AndEmptyKeysAreIgnored()
    {
        var trie = SentencePieceByteTrie.Build([("ab"u8.ToArray(), 1), ("ab"u8.ToArray(), 2), ([], 3), ("a"u8.ToArray(), 4)]);

        Assert.Equal(2, trie.Count);
        Assert.Equal(1, trie.ExactMatch("ab"u8));
        Assert.Equal(4, trie.ExactMatch("a"u8));
        Assert.Equal(-1, trie.ExactMatch([]));
    }

    [Fact]
    public void LongestPrefix_ReturnsTheLongestKeyAtTheStart()
    {
        var trie = SentencePieceByteTrie.Build([.. new[] { "<", "<im", "<image>", "x" }.Select((k, i) => (Encoding.UTF8.GetBytes(k), i))]);

        Assert.Equal(7, trie.LongestPrefix("<image>!"u8, out var value));
        Assert.Equal(2, value);
        Assert.Equal(3, trie.LongestPrefix("<ima"u8, out value));
        Assert.Equal(1, value);
        Assert.Equal(0, trie.LongestPrefix("y<"u8, out value));
        Assert.Equal(-1, value);
    }

    [Fact]
    public void Build_NoKeys_MatchesNothing()
    {
        var trie = SentencePieceByteTrie.Build([]);

        Assert.Equal(0, trie.Count);
        Assert.Equal(-1, trie.ExactMatch("a"u8));
        Assert.Equal(0, trie.LongestPrefix("abc"u8, out _));
    }
}
