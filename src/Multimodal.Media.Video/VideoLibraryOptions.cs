// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

namespace Multimodal.Media.Video;

/// <summary>Where FFmpeg's libraries (libavutil, libswscale, libavcodec, libavformat) are loaded from, and how loud FFmpeg's own log is.</summary>
/// <remarks>
/// <para>
/// Each library is probed in this order: the explicit path set here, the library's SONAME in each
/// <see cref="SearchDirectories"/> entry, then the SONAME through the system loader (<c>libavutil.so.57</c>,
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
public sealed class VideoLibraryOptions
{
    private readonly Lock _lock = new();
    private readonly List<string> _searchDirectories = [];
    private string? _avUtilPath;
    private string? _swScalePath;
    private string? _avCodecPath;
    private string? _avFormatPath;
    private FfmpegLogLevel _logLevel = FfmpegLogLevel.Quiet;
    private bool _frozen;

    /// <summary>Gets the options this assembly loads FFmpeg with.</summary>
    public static VideoLibraryOptions Shared { get; } = new();

    /// <summary>Gets or sets the full path of libavutil, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public string? AvUtilPath { get => Get(ref _avUtilPath); set => Set(ref _avUtilPath, value); }

    /// <summary>Gets or sets the full path of libswscale, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public string? SwScalePath { get => Get(ref _swScalePath); set => Set(ref _swScalePath, value); }

    /// <summary>Gets or sets the full path of libavcodec, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public string? AvCodecPath { get => Get(ref _avCodecPath); set => Set(ref _avCodecPath, value); }

    /// <summary>Gets or sets the full path of libavformat, tried before any other location.</summary>
    /// <value>The default is <see langword="null"/>: only the standard locations are probed.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public string? AvFormatPath { get => Get(ref _avFormatPath); set => Set(ref _avFormatPath, value); }

    /// <summary>Gets or sets the level of FFmpeg's own log (<c>av_log_set_level</c>), applied once when the libraries load.</summary>
    /// <value>The default is <see cref="FfmpegLogLevel.Quiet"/>: problems surface as exceptions, not as lines on stderr. The level is process-wide.</value>
    /// <exception cref="InvalidOperationException">The options are frozen because the libraries have already loaded.</exception>
    public FfmpegLogLevel LogLevel
    {
        get
        {
            lock (_lock)
            {
                return _logLevel;
            }
        }

        set
        {
            lock (_lock)
            {
                ThrowIfFrozen();
                _logLevel = value;
            }
        }
    }

    /// <summary>Gets the extra folders searched for the libraries' SONAMEs, in order.</summary>
    /// <value>The default is empty.</value>
    public IReadOnlyList<string> SearchDirectories
    {
        get
        {
            lock (_lock)
            {
                return [.. _searchDirectories];
            }
        }
    }

    /// <summary>Gets whether the libraries have loaded from these options, so that they can no longer change.</summary>
    public bool IsFrozen
    {
        get
        {
            lock (_lock)
            {
                return _frozen;
            }
        }
    }

    /// <summary>Adds a folder to <see cref="SearchDirectories"/>.</summary>
    /// <param name="directory">A folder that holds the FFmpeg 5.1 libraries.</param>
    /// <returns>This instance, for chaining.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is empty.</exception>
    /// <exception cref="InvalidOperationException">The options are frozen.</exception>
    public VideoLibraryOptions AddSearchDirectory(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        lock (_lock)
        {
            ThrowIfFrozen();
            _searchDirectories.Add(directory);
        }

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

    /// <summary>Freezes the options; called once the libraries have loaded from them.</summary>
    internal void Freeze()
    {
        lock (_lock)
        {
            _frozen = true;
        }
    }

    private string? Get(ref string? field)
    {
        lock (_lock)
        {
            return field;
        }
    }

    private void Set(ref string? field, string? value)
    {
        lock (_lock)
        {
            ThrowIfFrozen();
            field = value;
        }
    }

    private void ThrowIfFrozen()
    {
        if (_frozen)
        {
            throw new InvalidOperationException("FFmpeg has already been loaded with these options; configure VideoLibraryOptions.Shared before the first video is opened.");
        }
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
