// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Runtime.CompilerServices;

// Pixel buffers are always fully written before they are read.
[module: SkipLocalsInit]
