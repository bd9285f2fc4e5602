// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace Multimodal.Benchmarks;

/// <summary>The one configuration every suite shares: memory diagnostics always on; <c>--short</c> and <c>--inprocess</c> variants.</summary>
public static class BenchmarkConfig
{
    /// <summary>Creates the configuration from the command line (our flags are removed before BenchmarkDotNet sees them).</summary>
    public static IConfig Create(string[] args)
    {
        var config = ManualConfig.CreateMinimumViable().AddDiagnoser(MemoryDiagnoser.Default).WithOption(ConfigOptions.JoinSummary, true);
        var job = args.Contains("--standard") ? Job.Default : Job.ShortRun;
        if (args.Contains("--inprocess"))
        {
            job = job.WithToolchain(InProcessEmitToolchain.Instance);
        }

        return config.AddJob(job);
    }
}
