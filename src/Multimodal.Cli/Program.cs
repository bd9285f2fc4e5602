// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Cli;

return await CliApp.RunAsync(args, Console.Out, Console.Error).ConfigureAwait(false);
