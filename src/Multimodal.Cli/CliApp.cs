// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using System.Reflection;

namespace Multimodal.Cli;

/// <summary>The <c>multimodal</c> command line: its verbs, global options and error reporting.</summary>
/// <remarks>
/// Errors print one line (<c>error: …</c>) to standard error and exit with code 1; <c>--verbose</c> adds the
/// exception's details and stack trace. Verbs are added by the issues that bring their features.
/// </remarks>
internal static class CliApp
{
    /// <summary>Gets the global <c>--verbose</c> option.</summary>
    internal static Option<bool> Verbose { get; } = new("--verbose", "-v")
    {
        Description = "Print diagnostic details, including stack traces on errors.",
        Recursive = true,
    };

    /// <summary>Gets the tool's version as printed by <c>--version</c>.</summary>
    internal static string Version =>
        typeof(CliApp).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0]
        ?? typeof(CliApp).Assembly.GetName().Version?.ToString()
        ?? "0.0.0";

    /// <summary>Parses and runs a command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="output">Standard output.</param>
    /// <param name="error">Standard error.</param>
    /// <param name="cancellationToken">Cancels the running verb (Ctrl+C).</param>
    /// <param name="input">Standard input (defaults to the console's).</param>
    /// <returns>The process exit code: 0 on success, 1 on any error.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default, TextReader? input = null)
    {
        var root = BuildRootCommand(output, input ?? Console.In, error);

        // With no verb, show the help rather than a parse error.
        var parse = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (parse.Errors.Count > 0)
        {
            // One line, as for every other error; the help text is one flag away.
            var messages = string.Join(" ", parse.Errors.Select(e => System.Text.RegularExpressions.Regex.Replace(e.Message.ReplaceLineEndings(" "), @"\s+", " ").Trim().TrimEnd('.') + "."));
            await error.WriteLineAsync($"error: {messages} Run 'multimodal --help' for usage.").ConfigureAwait(false);
            return 1;
        }

        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            await error.WriteLineAsync("error: cancelled.").ConfigureAwait(false);
            return 1;
        }
#pragma warning disable CA1031 // The command line's contract is one line per error, whatever failed.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await error.WriteLineAsync(FormatError(ex)).ConfigureAwait(false);
            if (parse.GetValue(Verbose))
            {
                await error.WriteLineAsync(ex.ToString()).ConfigureAwait(false);
            }

            return 1;
        }
    }

    /// <summary>Builds the command tree.</summary>
    /// <param name="output">Where verbs write their results.</param>
    /// <param name="input">Where verbs read standard input.</param>
    /// <param name="error">Where verbs write progress and notices (standard error).</param>
    /// <returns>The root command.</returns>
    internal static RootCommand BuildRootCommand(TextWriter output, TextReader input, TextWriter? error = null)
    {
        error ??= TextWriter.Null;
        var root = new RootCommand("Multimodal for .NET: run vision-language models (Aria, LLaVA, LongVA, AuroraCap, MiniCPM-V) on images, PDFs and videos.")
        {
            Verbose,
        };
        root.Add(InspectCommand.Create(output));
        root.Add(TokenizeCommand.Create(output, () => input));
        root.Add(ImageCommands.Create(output));
        root.Add(MediaCommands.Create(output));
        root.Add(PreprocessCommand.Create(output));
        root.Add(AskCommand.Create(output, error));
        root.Add(ChatCommand.Create(output, error, () => input));
        root.Add(ServeCommand.Create(output, error));

        // The built-in --version reports the entry assembly, which is the test host under tests; report ours.
        foreach (var version in root.Options.OfType<VersionOption>())
        {
            version.Action = new PrintVersionAction();
        }

        // Options without a verb (for example "multimodal -v"): say so in one line.
        root.SetAction((_, _) => throw new ArgumentException("No command given. Run 'multimodal --help' for the list of commands."));
        return root;
    }

    /// <summary>Prints <see cref="Version"/> to the invocation's output.</summary>
    private sealed class PrintVersionAction : System.CommandLine.Invocation.SynchronousCommandLineAction
    {
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult)
        {
            parseResult.InvocationConfiguration.Output.WriteLine(Version);
            return 0;
        }
    }

    /// <summary>Formats an exception as the one line users see.</summary>
    /// <param name="ex">The failure.</param>
    /// <returns>A single line starting with <c>error:</c>.</returns>
    internal static string FormatError(Exception ex)
    {
        // A native library that fails to load may surface wrapped (in a type initializer's or a load step's exception).
        for (var inner = ex.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is NativeLibraryException { LibraryName: "onnxruntime" or "onnxruntime-genai" })
            {
                ex = inner;
                break;
            }
        }

        var message = ex switch
        {
            // ArgumentException appends " (Parameter 'name')", which means nothing to someone at a command line.
            ArgumentException { ParamName: { } name } a => a.Message.Replace($" (Parameter '{name}')", string.Empty, StringComparison.Ordinal),
            NativeLibraryException { LibraryName: "onnxruntime" or "onnxruntime-genai" } n => OnnxRuntimeLibraryMessage(n),
            MultimodalException or ArgumentException or IOException or UnauthorizedAccessException or FormatException => ex.Message,
            _ => $"unexpected {ex.GetType().Name}: {ex.Message} (run with --verbose for details)",
        };

        // The ONNX Runtime backend's advice names its options type (the message may come wrapped in another exception's);
        // on the command line the switch is --device.
        message = message.Replace("use OnnxRuntimeExecutionProvider.Cpu", "use --device cpu", StringComparison.Ordinal);
        return "error: " + message.ReplaceLineEndings(" ");
    }

    /// <summary>Says what to do when ONNX Runtime or GenAI cannot be loaded: the loader's list of every path tried is
    /// for <c>--verbose</c>, the fix is the tool's own options.</summary>
    /// <param name="ex">The loader's failure.</param>
    /// <returns>One sentence naming the library, why it failed when it was found, and the fix.</returns>
    private static string OnnxRuntimeLibraryMessage(NativeLibraryException ex)
    {
        // The loader says "was found at '…' but cannot be used: <problem>. Install …" when a wrong build was found first.
        const string Unusable = " but cannot be used: ";
        var reason = " could not be found";
        var at = ex.Message.IndexOf(Unusable, StringComparison.Ordinal);
        if (at >= 0)
        {
            var problem = ex.Message[(at + Unusable.Length)..];
            var end = problem.IndexOf(". ", StringComparison.Ordinal);
            reason = $" was found at '{ex.PathsTried.LastOrDefault()}' but cannot be used ({(end < 0 ? problem.TrimEnd('.') : problem[..end])})";
        }

        return $"The native library '{ex.LibraryName}'{reason}. Pass --native-dir <folder> or set {CliModels.NativeDirectoryVariable} to the folder that holds it "
            + "(an installed tool also finds it in runtimes/<rid>/native or on the system library path); in a source checkout, run eng/native/fetch-onnxruntime.sh "
            + "and use .tools/native/linux-x64. Run with --verbose for the paths tried.";
    }
}
