// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;

// Hot buffers (logits, embeddings) are always fully written before they are read.
[module: SkipLocalsInit]
