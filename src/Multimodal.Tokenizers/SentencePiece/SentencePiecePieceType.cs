// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Tokenizers;

/// <summary>The kind of a vocabulary entry (<c>ModelProto.SentencePiece.Type</c>); values are the proto's.</summary>
internal enum SentencePiecePieceType
{
    /// <summary>An ordinary piece produced by segmentation.</summary>
    Normal = 1,

    /// <summary>The unknown piece (<c>&lt;unk&gt;</c>); exactly one per model.</summary>
    Unknown = 2,

    /// <summary>A control symbol such as <c>&lt;s&gt;</c>; never produced from text and decoded to nothing.</summary>
    Control = 3,

    /// <summary>A user-defined symbol, always matched as one piece wherever it appears in the text.</summary>
    UserDefined = 4,

    /// <summary>A piece that exists in the vocabulary but is never emitted by segmentation.</summary>
    Unused = 5,

    /// <summary>A byte piece <c>&lt;0xXX&gt;</c> used by byte fallback.</summary>
    Byte = 6,
}
