// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Multimodal.Media.Pdf;
using Multimodal.Media.Video;

namespace Multimodal.Cli;

/// <summary>
/// <c>multimodal media info | frames | pages</c>: what the PDF and video packages read from a file, as JSON on
/// standard output, and the decoded pixels as NumPy <c>.npy</c> arrays for checking against Python.
/// </summary>
internal static class MediaCommands
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static Command Create(TextWriter output)
    {
        return new Command("media", "Inspect PDFs and videos and extract their pages and frames as .npy arrays.")
        {
            CreateInfo(output),
            CreateFrames(output),
            CreatePages(output),
        };
    }

    private static Command CreateInfo(TextWriter output)
    {
        var pdf = new Option<FileInfo?>("--pdf") { Description = "A PDF document." };
        var video = new Option<FileInfo?>("--video") { Description = "A video file." };
        var password = new Option<string?>("--password") { Description = "The password of an encrypted PDF." };
        var command = new Command("info", "Print one JSON object: a PDF's pages, sizes and metadata, or a video's duration, frame count, rate, size and codec.") { pdf, video, password };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var pdfFile = parse.GetValue(pdf);
            var videoFile = parse.GetValue(video);
            if ((pdfFile is null) == (videoFile is null))
            {
                throw new ArgumentException("Give exactly one of --pdf and --video.");
            }

            JsonObject json;
            if (pdfFile is not null)
            {
                AskCommand.RequireFile(pdfFile, "--pdf");
                using var document = PdfDocument.Open(pdfFile.FullName, parse.GetValue(password));
                var m = document.Metadata;
                var pages = new JsonArray();
                for (var n = 1; n <= document.PageCount; n++)
                {
                    var size = document.GetPageSize(n);
                    pages.Add(new JsonObject { ["page"] = n, ["width"] = size.Width, ["height"] = size.Height });
                }

                json = new JsonObject
                {
                    ["file"] = pdfFile.FullName,
                    ["pages"] = document.PageCount,
                    ["pdf_version"] = m.PdfVersion,
                    ["encrypted"] = m.IsEncrypted,
                    ["title"] = m.Title,
                    ["author"] = m.Author,
                    ["subject"] = m.Subject,
                    ["creator"] = m.Creator,
                    ["producer"] = m.Producer,
                    ["page_sizes_pt"] = pages,
                };
            }
            else
            {
                AskCommand.RequireFile(videoFile!, "--video");
                using var file = VideoFile.Open(videoFile!.FullName);
                var info = file.Info;
                json = new JsonObject
                {
                    ["file"] = videoFile.FullName,
                    ["duration"] = info.Duration.TotalSeconds,
                    ["stream_duration"] = info.StreamDuration?.TotalSeconds,
                    ["container_duration"] = info.ContainerDuration?.TotalSeconds,
                    ["frame_count"] = info.FrameCount,
                    ["frame_count_exact"] = info.FrameCountIsExact,
                    ["fps"] = info.FramesPerSecond,
                    ["width"] = info.Width,
                    ["height"] = info.Height,
                    ["codec"] = info.Codec,
                    ["pixel_format"] = info.PixelFormat,
                    ["rotation"] = info.RotationDegrees,
                };
            }

            await output.WriteLineAsync(json.ToJsonString(Indented)).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static Command CreateFrames(TextWriter output)
    {
        var video = new Option<FileInfo>("--video") { Description = "The video file.", Required = true };
        var count = new Option<int?>("--count") { Description = "Sample this many frames uniformly (np.linspace(0, total - 1, N, dtype=int))." };
        var indices = new Option<string?>("--indices") { Description = "Frame indices, comma separated (for example 0,10,20)." };
        var size = new Option<string?>("--size") { Description = "Scale frames to WxH in FFmpeg (for example 336x336); full size when left out." };
        var outFile = new Option<FileInfo>("--out", "-o") { Description = "The output .npy file: uint8, N×H×W×3.", Required = true };
        var command = new Command("frames", "Decode sampled frames to one .npy array (N×H×W×3, RGB) and print their indices and timestamps as JSON.") { video, count, indices, size, outFile };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetRequiredValue(video);
            AskCommand.RequireFile(file, "--video");
            var n = parse.GetValue(count);
            var list = parse.GetValue(indices);
            if ((n is null) == (list is null))
            {
                throw new ArgumentException("Give exactly one of --count and --indices.");
            }

            var sampling = n is { } k
                ? (k > 0 ? FrameSampling.Uniform(k) : throw new ArgumentException($"--count must be positive (got {k})."))
                : FrameSampling.AtIndices(ParseIndices(list!));
            var (width, height) = ParseSize(parse.GetValue(size));

            using var source = VideoFile.Open(file.FullName);
            var info = source.Info;
            var selected = sampling.SelectFrames(info.FrameCount, info.FramesPerSecond);
            var frameWidth = width ?? info.Width;
            var frameHeight = height ?? info.Height;
            var frames = new JsonArray();
            var path = parse.GetRequiredValue(outFile).FullName;
            var stream = File.Create(path);
            await using (stream.ConfigureAwait(false))
            {
                NpyFormat.WriteUInt8Header(stream, selected.Count, frameHeight, frameWidth, 3);
                var options = new VideoDecodeOptions { Width = width, Height = height };
                await foreach (var frame in source.ReadFramesAsync(selected, options, cancellationToken).ConfigureAwait(false))
                {
                    if (frame.Image.Width != frameWidth || frame.Image.Height != frameHeight)
                    {
                        throw new InvalidMediaException($"Frame {frame.Index} decoded as {frame.Image.Width}x{frame.Image.Height}, not the stream's {frameWidth}x{frameHeight}; the video changes size mid-stream. Pass --size to scale every frame to one size.");
                    }

                    await WritePixelsAsync(stream, frame.Image, cancellationToken).ConfigureAwait(false);
                    frames.Add(new JsonObject { ["index"] = frame.Index, ["timestamp"] = frame.Timestamp.TotalSeconds });
                }
            }

            var json = new JsonObject
            {
                ["file"] = path,
                ["shape"] = new JsonArray(selected.Count, frameHeight, frameWidth, 3),
                ["frames"] = frames,
            };
            await output.WriteLineAsync(json.ToJsonString(Indented)).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    private static Command CreatePages(TextWriter output)
    {
        var pdf = new Option<FileInfo>("--pdf") { Description = "The PDF document.", Required = true };
        var pages = new Option<string?>("--pages") { Description = "Pages to render, for example 1-9 or 1,3,5-7; all when left out." };
        var zoom = new Option<double?>("--zoom") { Description = "Zoom relative to 72 dpi (Aria's recipe: 2, i.e. 144 dpi; the default)." };
        var maxSide = new Option<int?>("--max-side") { Description = "Render each page so that its longer side is this many pixels (instead of --zoom)." };
        var password = new Option<string?>("--password") { Description = "The password of an encrypted PDF." };
        var outDir = new Option<DirectoryInfo>("--out", "-o") { Description = "The output folder: one page-<n>.npy (uint8, H×W×3) per page.", Required = true };
        var command = new Command("pages", "Render PDF pages on white to page-<n>.npy arrays (H×W×3, RGB) and print their sizes as JSON.") { pdf, pages, zoom, maxSide, password, outDir };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var file = parse.GetRequiredValue(pdf);
            AskCommand.RequireFile(file, "--pdf");
            var z = parse.GetValue(zoom);
            var side = parse.GetValue(maxSide);
            if (z is not null && side is not null)
            {
                throw new ArgumentException("Give --zoom or --max-side, not both.");
            }

            if (z is <= 0 || side is <= 0)
            {
                throw new ArgumentException("--zoom and --max-side must be positive.");
            }

            var content = new PdfContent(MediaSource.FromFile(file.FullName, "application/pdf"), parse.GetValue(pages) is { } p ? PageSelection.Parse(p) : null)
            {
                Password = parse.GetValue(password),
                Zoom = side is null ? z ?? PdfRenderOptions.DefaultZoom : null,
                MaxLongSide = side,
            };
            var dir = parse.GetRequiredValue(outDir);
            dir.Create();
            var written = new JsonArray();
            await foreach (var page in PdfRasterizer.Shared.RenderPagesAsync(content, PdfRenderOptions.DefaultZoom, cancellationToken).ConfigureAwait(false))
            {
                var path = Path.Combine(dir.FullName, string.Create(CultureInfo.InvariantCulture, $"page-{page.PageNumber}.npy"));
                var stream = File.Create(path);
                await using (stream.ConfigureAwait(false))
                {
                    NpyFormat.WriteUInt8Header(stream, page.Image.Height, page.Image.Width, 3);
                    await WritePixelsAsync(stream, page.Image, cancellationToken).ConfigureAwait(false);
                }

                written.Add(new JsonObject { ["page"] = page.PageNumber, ["width"] = page.Image.Width, ["height"] = page.Image.Height, ["file"] = path });
            }

            await output.WriteLineAsync(new JsonObject { ["pages"] = written }.ToJsonString(Indented)).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>Writes an RGB24 frame's rows without their padding.</summary>
    private static async Task WritePixelsAsync(Stream stream, ImageFrame image, CancellationToken cancellationToken)
    {
        if (image.Format != ImagePixelFormat.Rgb24)
        {
            throw new InvalidOperationException($"Expected RGB24 pixels, got {image.Format}.");
        }

        var row = image.Width * 3;
        if (image.RowStride == row)
        {
            await stream.WriteAsync(image.Pixels[..(row * image.Height)], cancellationToken).ConfigureAwait(false);
            return;
        }

        for (var y = 0; y < image.Height; y++)
        {
            await stream.WriteAsync(image.Pixels.Slice(y * image.RowStride, row), cancellationToken).ConfigureAwait(false);
        }
    }

    private static int[] ParseIndices(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]))
            {
                throw new ArgumentException($"--indices must be non-negative integers separated by commas (got '{parts[i]}').");
            }
        }

        return result.Length > 0 ? result : throw new ArgumentException("--indices needs at least one frame index.");
    }

    private static (int? Width, int? Height) ParseSize(string? text)
    {
        if (text is null)
        {
            return (null, null);
        }

        var parts = text.ToUpperInvariant().Split('X');
        if (parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var w) && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var h) && w > 0 && h > 0)
        {
            return (w, h);
        }

        throw new ArgumentException($"--size must be WIDTHxHEIGHT with positive integers, for example 336x336 (got '{text}').");
    }
}
