// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using BenchmarkDotNet.Running;
using Multimodal.Benchmarks;

// Our own flags (--standard, --monitoring, --inprocess) choose the job; BenchmarkDotNet sees the rest.
string[] ours = ["--standard", "--monitoring", "--inprocess"];
BenchmarkSwitcher.FromAssembly(typeof(BenchmarkConfig).Assembly).Run([.. args.Where(a => !ours.Contains(a))], BenchmarkConfig.Create(args));
