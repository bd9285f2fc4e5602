// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Diagnostics;

namespace Multimodal.Benchmarks;

/// <summary>A reference implementation running in another process (Python, node), driven one line at a time over stdin/stdout so that benchmarks time only its work.</summary>
public sealed class PeerProcess : IDisposable
{
    private readonly Process _process;

    /// <summary>Starts the peer and waits for its "ready" line.</summary>
    public PeerProcess(string executable, params string[] arguments)
    {
        _process = Process.Start(new ProcessStartInfo(executable, arguments)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"Cannot start {executable}.");
        RequireLine("ready", $"The peer '{executable} {string.Join(' ', arguments)}' did not start; run eng/bootstrap.sh (and install python3-pil python3-numpy for imaging).");
    }

    /// <summary>Gets the repository root (where Multimodal.Core.sln is).</summary>
    public static string RepositoryRoot { get; } = FindRoot();

    /// <summary>Sends a command and returns the peer's one-line answer.</summary>
    public string Ask(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        return _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"The peer exited while answering '{command}'.");
    }

    /// <summary>Sends a command and requires the given answer.</summary>
    public void Expect(string command, string answer)
    {
        var got = Ask(command);
        if (got != answer)
        {
            throw new InvalidOperationException($"The peer answered '{got}' to '{command}', expected '{answer}'.");
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.StandardInput.Close();
            _process.WaitForExit(5000);
        }

        _process.Dispose();
    }

    private void RequireLine(string line, string error)
    {
        if (_process.StandardOutput.ReadLine() != line)
        {
            throw new InvalidOperationException(error);
        }
    }

    private static string FindRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Multimodal.Core.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Repository root not found.");
    }
}
