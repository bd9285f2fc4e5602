// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Multimodal.Benchmarks;

/// <summary>The one configuration every suite shares: memory diagnostics always on; <c>--standard</c>, <c>--monitoring</c> and <c>--inprocess</c> variants.</summary>
/// <remarks><c>--monitoring</c> is for operations that take seconds (video sampling): one warm-up and three single-invocation iterations.</remarks>
public static class BenchmarkConfig
{
    /// <summary>Creates the configuration from the command line (our flags are removed before BenchmarkDotNet sees them).</summary>
    public static IConfig Create(string[] args)
    {
        var config = ManualConfig.CreateMinimumViable().AddDiagnoser(MemoryDiagnoser.Default).WithOption(ConfigOptions.JoinSummary, true);
        var job = args.Contains("--standard") ? Job.Default
            : args.Contains("--monitoring") ? new Job("Monitoring") { Run = { RunStrategy = BenchmarkDotNet.Engines.RunStrategy.Monitoring, LaunchCount = 1, WarmupCount = 1, IterationCount = 3 } }
            : Job.ShortRun;
        if (args.Contains("--inprocess"))
        {
            job = job.WithToolchain(InProcessEmitToolchain.Instance);
        }

        return config.AddJob(job);
    }
}
