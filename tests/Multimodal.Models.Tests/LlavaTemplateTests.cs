// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Models.Llava;

namespace Multimodal.Models.Tests;

public sealed class LlavaV1PromptGoldenTests : PromptGoldenTestBase
{
    public static TheoryData<string> Cases => CasesOf("llava");

    protected override string Family => "llava";

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_reference_port(string caseName) => Check(caseName);

    protected override IPromptTemplate CreateTemplate(string modelFolder) => LlavaV1PromptTemplate.Instance;
}

public sealed class LlavaMptPromptGoldenTests : PromptGoldenTestBase
{
    public static TheoryData<string> Cases => CasesOf("llava-mpt");

    protected override string Family => "llava-mpt";

    [Theory]
    [MemberData(nameof(Cases))]
    public void Matches_the_reference_port(string caseName) => Check(caseName);

    protected override IPromptTemplate CreateTemplate(string modelFolder) => new LlavaMptPromptTemplate(useImageStartEnd: true);
}
