// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Multimodal.Benchmarks;

/// <summary>A custom summary column computed from each case's mean time (rates such as GB/s, GFLOP/s, tokens/s).</summary>
public abstract class MeanRateColumn : IColumn
{
    public abstract string Id { get; }

    public abstract string ColumnName { get; }

    public abstract string Legend { get; }

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => false;

    public UnitType UnitType => UnitType.Dimensionless;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public bool IsAvailable(Summary summary) => true;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        return mean is null or <= 0 ? "-" : Rate(benchmarkCase, mean.Value * 1e-9);
    }

    public override string ToString() => ColumnName;

    /// <summary>Formats the rate of one case, or "-" when the column does not apply to it.</summary>
    /// <param name="benchmarkCase">The case.</param>
    /// <param name="seconds">Its mean time in seconds.</param>
    /// <returns>The cell text.</returns>
    protected abstract string Rate(BenchmarkCase benchmarkCase, double seconds);
}
