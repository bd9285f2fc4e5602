// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;

namespace Multimodal.Tokenizers;

/// <summary>An immutable double-array trie over byte strings (UTF-8 pieces) mapping each key to a non-negative value.</summary>
/// <remarks>
/// Nodes are slots of three parallel arrays: the child of node <c>s</c> by byte <c>c</c> is the slot
/// <c>t = base[s] ^ c</c> when <c>check[t] == s</c>. A transition is therefore two array reads, which is what makes
/// the lattice construction (one walk per character position) and BPE pair lookups cheap. The layout is a
/// base/check array with XOR addressing rather than Darts-clone's packed units, because only lookups need to match
/// SentencePiece, not the binary format. Thread-safe (immutable).
/// </remarks>
internal sealed class SentencePieceByteTrie
{
    /// <summary>The root node.</summary>
    public const int Root = 0;

    private const int Free = -1;

    private readonly int[] _base;
    private readonly int[] _check;
    private readonly int[] _value;

    private SentencePieceByteTrie(int[] @base, int[] check, int[] value, int count)
    {
        _base = @base;
        _check = check;
        _value = value;
        Count = count;
    }

    /// <summary>Gets the number of distinct keys.</summary>
    public int Count { get; }

    /// <summary>Builds a trie; empty keys are ignored and, for duplicate keys, the first entry wins.</summary>
    /// <param name="entries">The keys (UTF-8) and their values (non-negative).</param>
    /// <returns>The trie.</returns>
    public static SentencePieceByteTrie Build(IReadOnlyList<(byte[] Key, int Value)> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);

        // Sort the keys (stable, so the first of equal keys comes first) and place nodes depth-first.
        var order = new int[entries.Count];
        for (var i = 0; i < order.Length; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) =>
        {
            var c = entries[a].Key.AsSpan().SequenceCompareTo(entries[b].Key);
            return c != 0 ? c : a.CompareTo(b);
        });

        var sorted = new List<(byte[] Key, int Value)>(order.Length);
        foreach (var index in order)
        {
            var entry = entries[index];
            if (entry.Key.Length == 0 || (sorted.Count > 0 && sorted[^1].Key.AsSpan().SequenceEqual(entry.Key)))
            {
                continue;
            }

            sorted.Add(entry);
        }

        var builder = new Builder();
        builder.Place(sorted);
        return builder.ToTrie(sorted.Count);
    }

    /// <summary>Returns the child of <paramref name="node"/> by <paramref name="label"/>, or -1 when there is none.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Next(int node, byte label)
    {
        var t = _base[node] ^ label;
        return (uint)t < (uint)_check.Length && _check[t] == node ? t : -1;
    }

    /// <summary>Returns the value of the key that ends at <paramref name="node"/>, or -1 when no key ends there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int ValueAt(int node) => _value[node];

    /// <summary>Walks <paramref name="key"/> from <paramref name="node"/>; returns the node reached, or -1.</summary>
    public int Walk(int node, ReadOnlySpan<byte> key)
    {
        for (var i = 0; i < key.Length && node >= 0; i++)
        {
            node = Next(node, key[i]);
        }

        return node;
    }

    /// <summary>Returns the value of <paramref name="key"/>, or -1 when it is not a key.</summary>
    public int ExactMatch(ReadOnlySpan<byte> key)
    {
        var node = Walk(Root, key);
        return node < 0 ? -1 : _value[node];
    }

    /// <summary>Finds the longest key that is a prefix of <paramref name="text"/>.</summary>
    /// <param name="text">The text.</param>
    /// <param name="value">The key's value, or -1.</param>
    /// <returns>The key's length in bytes, or 0 when no key is a prefix.</returns>
    public int LongestPrefix(ReadOnlySpan<byte> text, out int value)
    {
        value = -1;
        var length = 0;
        var node = Root;
        for (var i = 0; i < text.Length; i++)
        {
            node = Next(node, text[i]);
            if (node < 0)
            {
                break;
            }

            if (_value[node] >= 0)
            {
                value = _value[node];
                length = i + 1;
            }
        }

        return length;
    }

    /// <summary>Places sorted keys into the base/check arrays.</summary>
    /// <remarks>
    /// Children of a node sit at <c>base ^ label</c>, so they share one 256-slot block. Like Darts-clone's builder,
    /// a base is searched for only among the free slots of the last <see cref="WindowBlocks"/> blocks (kept in a
    /// linked list); when none fits, a fresh block is appended. This bounds the search per node, so building a
    /// 250,000-piece vocabulary takes a fraction of a second instead of scanning ever longer stretches of slots.
    /// </remarks>
    private sealed class Builder
    {
        private const int BlockSize = 256;
        private const int WindowBlocks = 16;

        private readonly Stack<(int Node, int Lo, int Hi, int Depth)> _pending = new();
        private readonly List<byte> _labels = [];
        private readonly List<int> _starts = [];
        private int[] _base = [];
        private int[] _check = [];
        private int[] _value = [];
        private int[] _nextFree = [];
        private int[] _prevFree = [];
        private int _size;
        private int _freeHead = -1;
        private int _freeTail = -1;
        private int _windowStart;

        public Builder()
        {
            AddBlock();
            Use(Root);
            _check[Root] = int.MinValue;
        }

        public void Place(List<(byte[] Key, int Value)> sorted)
        {
            if (sorted.Count == 0)
            {
                return;
            }

            _pending.Push((Root, 0, sorted.Count, 0));
            while (_pending.Count > 0)
            {
                var (node, lo, hi, depth) = _pending.Pop();

                // Keys are sorted, so the key that ends at this node (if any) comes first.
                if (sorted[lo].Key.Length == depth)
                {
                    _value[node] = sorted[lo].Value;
                    lo++;
                }

                if (lo >= hi)
                {
                    continue;
                }

                _labels.Clear();
                _starts.Clear();
                for (var i = lo; i < hi; i++)
                {
                    var label = sorted[i].Key[depth];
                    if (_labels.Count == 0 || _labels[^1] != label)
                    {
                        _labels.Add(label);
                        _starts.Add(i);
                    }
                }

                _starts.Add(hi);
                var b = FindBase();
                _base[node] = b;
                foreach (var label in _labels)
                {
                    var t = b ^ label;
                    Use(t);
                    _check[t] = node;
                }

                for (var k = _labels.Count - 1; k >= 0; k--)
                {
                    _pending.Push((b ^ _labels[k], _starts[k], _starts[k + 1], depth + 1));
                }
            }
        }

        public SentencePieceByteTrie ToTrie(int count)
        {
            // Trailing free slots are never reached (check mismatches), so they can go.
            var used = _size;
            while (used > 1 && _check[used - 1] == Free)
            {
                used--;
            }

            return new(_base.AsSpan(0, used).ToArray(), _check.AsSpan(0, used).ToArray(), _value.AsSpan(0, used).ToArray(), count);
        }

        private int FindBase()
        {
            var first = _labels[0];
            for (var e = _freeHead; e >= 0; e = _nextFree[e])
            {
                // Slot e takes the first label; the other labels land in the same block.
                var b = e ^ first;
                var fits = true;
                for (var k = 1; k < _labels.Count; k++)
                {
                    if (_check[b ^ _labels[k]] != Free)
                    {
                        fits = false;
                        break;
                    }
                }

                if (fits)
                {
                    return b;
                }
            }

            AddBlock();
            return _size - BlockSize;
        }

        private void AddBlock()
        {
            var start = _size;
            var capacity = start + BlockSize;
            if (capacity > _check.Length)
            {
                var length = Math.Max(capacity, _check.Length * 2);
                Array.Resize(ref _base, length);
                Array.Resize(ref _check, length);
                Array.Resize(ref _value, length);
                Array.Resize(ref _nextFree, length);
                Array.Resize(ref _prevFree, length);
            }

            for (var i = start; i < capacity; i++)
            {
                _check[i] = Free;
                _value[i] = -1;
                _base[i] = 0;
                _prevFree[i] = _freeTail;
                _nextFree[i] = -1;
                if (_freeTail >= 0)
                {
                    _nextFree[_freeTail] = i;
                }
                else
                {
                    _freeHead = i;
                }

                _freeTail = i;
            }

            _size = capacity;

            // Slots of blocks that leave the search window stay free for good.
            if ((_size / BlockSize) - _windowStart > WindowBlocks)
            {
                var oldStart = _windowStart * BlockSize;
                for (var i = oldStart; i < oldStart + BlockSize; i++)
                {
                    if (_check[i] == Free)
                    {
                        Unlink(i);
                    }
                }

                _windowStart++;
            }
        }

        private void Use(int slot)
        {
            Unlink(slot);
        }

        private void Unlink(int slot)
        {
            var prev = _prevFree[slot];
            var next = _nextFree[slot];
            if (prev >= 0)
            {
                _nextFree[prev] = next;
            }
            else
            {
                _freeHead = next;
            }

            if (next >= 0)
            {
                _prevFree[next] = prev;
            }
            else
            {
                _freeTail = prev;
            }

            _prevFree[slot] = -1;
            _nextFree[slot] = -1;
        }
    }
}
