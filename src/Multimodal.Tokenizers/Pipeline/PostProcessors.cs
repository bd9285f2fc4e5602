// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>One element of a template: a special token's ids, or sequence A or B.</summary>
internal abstract record TemplatePiece;

internal sealed record TemplateSpecial(int[] Ids) : TemplatePiece;

internal sealed record TemplateSequence(bool IsSecond) : TemplatePiece;

/// <summary>TemplateProcessing: special tokens placed around the sequence(s) per a template.</summary>
internal sealed class TemplatePostProcessor(IReadOnlyList<TemplatePiece> single, IReadOnlyList<TemplatePiece> pair) : IPostProcessor
{
    public List<int> ProcessSingle(List<int> ids) => Apply(single, ids, []);

    public List<int> ProcessPair(List<int> first, List<int> second) => Apply(pair, first, second);

    private static List<int> Apply(IReadOnlyList<TemplatePiece> template, List<int> a, List<int> b)
    {
        var result = new List<int>(a.Count + b.Count + 4);
        foreach (var piece in template)
        {
            switch (piece)
            {
                case TemplateSpecial s:
                    result.AddRange(s.Ids);
                    break;
                case TemplateSequence { IsSecond: false }:
                    result.AddRange(a);
                    break;
                default:
                    result.AddRange(b);
                    break;
            }
        }

        return result;
    }
}

/// <summary>BERT/RoBERTa-style processing: [CLS] A [SEP] (and [SEP] B [SEP], with RoBERTa's double separator between pairs).</summary>
internal sealed class ClsSepPostProcessor(int cls, int sep, bool roberta) : IPostProcessor
{
    public List<int> ProcessSingle(List<int> ids) => [cls, .. ids, sep];

    public List<int> ProcessPair(List<int> first, List<int> second) =>
        roberta ? [cls, .. first, sep, sep, .. second, sep] : [cls, .. first, sep, .. second, sep];
}

/// <summary>Post-processors that change only offsets (ByteLevel): ids pass through.</summary>
internal sealed class PassThroughPostProcessor : IPostProcessor
{
    public List<int> ProcessSingle(List<int> ids) => ids;

    public List<int> ProcessPair(List<int> first, List<int> second) => [.. first, .. second];
}

/// <summary>Applies post-processors in order.</summary>
internal sealed class SequencePostProcessor(IReadOnlyList<IPostProcessor> processors) : IPostProcessor
{
    public List<int> ProcessSingle(List<int> ids)
    {
        foreach (var p in processors)
        {
            ids = p.ProcessSingle(ids);
        }

        return ids;
    }

    public List<int> ProcessPair(List<int> first, List<int> second)
    {
        // Only the first processor sees the pair; the rest see the merged result, as a single sequence.
        if (processors.Count == 0)
        {
            return [.. first, .. second];
        }

        var ids = processors[0].ProcessPair(first, second);
        for (var i = 1; i < processors.Count; i++)
        {
            ids = processors[i].ProcessSingle(ids);
        }

        return ids;
    }
}
