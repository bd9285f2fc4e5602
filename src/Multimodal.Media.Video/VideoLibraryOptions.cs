// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using Multimodal.Interop;
using Multimodal.Media.Video.Interop.Ffmpeg;

namespace Multimodal.Media.Video;

/// <summary>Where FFmpeg's libraries (libavutil, libswscale, libavcodec, libavformat) are loaded from, and how loud FFmpeg's own log is.</summary>
/// <remarks>
/// <para>
/// Each library is probed in this order: the explicit path set here, its file names in each
/// <see cref="NativeLibraryOptions.SearchDirectories"/> entry and in the application's own folders
/// (<c>runtimes/&lt;rid&gt;/native</c>, then the base directory), then the SONAME through the system loader (<c>libavutil.so.57</c>,
/// <c>libswscale.so.6</c>, <c>libavcodec.so.59</c>, <c>libavformat.so.59</c>: FFmpeg 5.1). On Debian 12 and Ubuntu,
/// <c>apt-get install libavformat59 libavcodec59 libswscale6 libavutil57</c> provides them. Only FFmpeg 5.1's majors
/// are accepted, because the package reads struct fields whose offsets change between major versions.
/// </para>
/// <para>
/// Configure <see cref="Shared"/> before the first video is opened: the instance is frozen once the libraries have loaded,
/// and later changes throw <see cref="InvalidOperationException"/>. The members are thread-safe.
/// </para>
/// <code>
/// VideoLibraryOptions.Shared
///     .AddSearchDirectory("/opt/ffmpeg-5.1/lib")
///     .WithLogLevel(FfmpegLogLevel.Error);
/// </code>
/// </remarks>
public sealed class VideoLibraryOptions : NativeLibraryOptions
{
    private FfmpegLogLevel _logLevel = FfmpegLogLevel.Quiet;

    /// <summary>Initializes a new instance with no explicit paths, no search directories and FFmpeg's log off.</summary>
    public VideoLibraryOptions()
        : base("VideoLibraryOptions.Shared", "the first video is opened")
    {
    }

    /// <summary>Gets the options this assembly loads FFmpeg with.</summary>
    public static VideoLibraryOptions Shared { get; } = new();

    /// <summary>Gets or sets the full path of libavutil, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public string? AvUtilPath { get => GetLibraryPath(FfmpegLibraries.AvUtil); set => SetLibraryPath(FfmpegLibraries.AvUtil, value); }

    /// <summary>Gets or sets the full path of libswscale, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public string? SwScalePath { get => GetLibraryPath(FfmpegLibraries.SwScale); set => SetLibraryPath(FfmpegLibraries.SwScale, value); }

    /// <summary>Gets or sets the full path of libavcodec, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public string? AvCodecPath { get => GetLibraryPath(FfmpegLibraries.AvCodec); set => SetLibraryPath(FfmpegLibraries.AvCodec, value); }

    /// <summary>Gets or sets the full path of libavformat, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public string? AvFormatPath { get => GetLibraryPath(FfmpegLibraries.AvFormat); set => SetLibraryPath(FfmpegLibraries.AvFormat, value); }

    /// <summary>Gets or sets the level of FFmpeg's own log (<c>av_log_set_level</c>), applied once when the libraries load.</summary>
    /// <value>The default is <see cref="FfmpegLogLevel.Quiet"/>: problems surface as exceptions, not as lines on stderr. The level is process-wide.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public FfmpegLogLevel LogLevel
    {
        get => Read(() => _logLevel);
        set => Update(() => _logLevel = value);
    }

    /// <summary>Adds a folder to <see cref="NativeLibraryOptions.SearchDirectories"/>.</summary>
    /// <param name="directory">A folder that holds the FFmpeg 5.1 libraries.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public VideoLibraryOptions AddSearchDirectory(string directory)
    {
        AddSearchDirectoryCore(directory);
        return this;
    }

    /// <summary>Sets <see cref="LogLevel"/>.</summary>
    /// <param name="level">The level.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public VideoLibraryOptions WithLogLevel(FfmpegLogLevel level)
    {
        LogLevel = level;
        return this;
    }
}

/// <summary>FFmpeg's log levels (<c>AV_LOG_*</c>).</summary>
public enum FfmpegLogLevel
{
    /// <summary>AV_LOG_QUIET: nothing.</summary>
    Quiet = -8,

    /// <summary>AV_LOG_PANIC: only failures that abort.</summary>
    Panic = 0,

    /// <summary>AV_LOG_FATAL: unrecoverable errors.</summary>
    Fatal = 8,

    /// <summary>AV_LOG_ERROR: errors, including recoverable decode errors.</summary>
    Error = 16,

    /// <summary>AV_LOG_WARNING: warnings too.</summary>
    Warning = 24,

    /// <summary>AV_LOG_INFO: FFmpeg's default.</summary>
    Info = 32,

    /// <summary>AV_LOG_VERBOSE: detailed information.</summary>
    Verbose = 40,

    /// <summary>AV_LOG_DEBUG: everything useful to developers.</summary>
    Debug = 48,
}
