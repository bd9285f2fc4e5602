// Copyright (c) Multimodal contributors.
// Licensed under the MIT License.

using System.Buffers;
using System.Text;

namespace Multimodal.Tokenizers;

/// <summary>A SentencePiece <c>.model</c> file, encoding and decoding token for token like the SentencePiece C++ library.</summary>
/// <remarks>
/// <para>
/// <see cref="Encode(string, List{int})"/> is <c>SentencePieceProcessor::EncodeAsIds</c> (Python's <c>sp.encode(text)</c>, without BOS
/// or EOS): the text is converted to UTF-8, normalized (<c>precompiled_charsmap</c>, whitespace handling, dummy
/// prefix, U+2581 escaping, user-defined symbols kept verbatim), segmented by the Unigram or BPE model, and runs of
/// unknown characters become one unknown id or, with <c>byte_fallback</c>, their bytes as <c>&lt;0xXX&gt;</c>
/// pieces. <see cref="Decode"/> is <c>DecodeIds</c>: control pieces vanish, the unknown piece becomes
/// <c>unk_surface</c> (" ⁇ " by default), byte pieces are reassembled into UTF-8 with each invalid byte becoming
/// U+FFFD, U+2581 becomes a space, and the leading space of the first piece goes when the model adds a dummy prefix
/// or removes extra whitespace. The behaviour is that of sentencepiece 0.1.97, against which the tests compare.
/// </para>
/// <para>The protobuf is read by a small built-in reader; no Google.Protobuf dependency. Thread-safe: immutable after loading.</para>
/// </remarks>
internal sealed class SentencePieceProcessor
{
    private readonly SentencePieceProto[] _pieces;
    private readonly string[] _pieceStrings;
    private readonly Dictionary<string, int> _reservedIds;
    private readonly Dictionary<string, int> _normalIds;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _reservedLookup;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _normalLookup;
    private readonly SentencePieceNormalizer _normalizer;
    private readonly SentencePieceNormalizer? _denormalizer;
    private readonly UnigramEncoder? _unigram;
    private readonly SentencePieceBpeEncoder? _bpe;
    private readonly int[] _decodeIds;
    private readonly int[] _byteValues;
    private readonly byte[] _unknownSurface;
    private readonly bool _removeExtraWhitespaces;

    private SentencePieceProcessor(SentencePieceModelProto model, string sourceName)
    {
        var trainer = model.TrainerSpec;
        ModelType = trainer.ModelType switch
        {
            1 => SentencePieceModelType.Unigram,
            2 => SentencePieceModelType.Bpe,
            3 => throw Invalid(sourceName, "model type WORD is not supported (only UNIGRAM and BPE are)", notAModel: false),
            4 => throw Invalid(sourceName, "model type CHAR is not supported (only UNIGRAM and BPE are)", notAModel: false),
            _ => throw Invalid(sourceName, $"trainer_spec.model_type is {trainer.ModelType}, which is not a SentencePiece model type"),
        };

        _pieces = [.. model.Pieces];
        PieceCount = _pieces.Length;
        ByteFallback = trainer.ByteFallback;
        AddDummyPrefix = model.NormalizerSpec.AddDummyPrefix;
        _removeExtraWhitespaces = model.NormalizerSpec.RemoveExtraWhitespaces;
        _unknownSurface = trainer.UnkSurface ?? SentencePieceUtf8.DefaultUnknownSurface.ToArray();

        // ModelInterface::InitializePieces: the same checks, in the same order.
        if (_pieces.Length == 0)
        {
            throw Invalid(sourceName, "it has no pieces");
        }

        _pieceStrings = new string[_pieces.Length];
        _reservedIds = new Dictionary<string, int>(StringComparer.Ordinal);
        _normalIds = new Dictionary<string, int>(_pieces.Length, StringComparer.Ordinal);
        _byteValues = new int[_pieces.Length];
        var userDefined = new List<(byte[] Key, int Value)>();
        var bytesFound = new bool[256];
        var unkId = -1;
        var hasNormalPiece = false;
        for (var i = 0; i < _pieces.Length; i++)
        {
            var p = _pieces[i];
            var text = Encoding.UTF8.GetString(p.Piece);
            _pieceStrings[i] = text;
            _byteValues[i] = -1;
            if (p.Piece.Length == 0)
            {
                throw Invalid(sourceName, $"piece {i} is empty");
            }

            var isNormal = p.Type is SentencePiecePieceType.Normal or SentencePiecePieceType.UserDefined or SentencePiecePieceType.Unused;
            hasNormalPiece |= isNormal;
            var map = isNormal ? _normalIds : _reservedIds;
            if (!map.TryAdd(text, i))
            {
                throw Invalid(sourceName, $"piece {i} '{text}' is already defined as piece {map[text]}");
            }

            switch (p.Type)
            {
                case SentencePiecePieceType.UserDefined:
                    userDefined.Add((p.Piece, i));
                    break;
                case SentencePiecePieceType.Unknown:
                    if (unkId >= 0)
                    {
                        throw Invalid(sourceName, $"pieces {unkId} and {i} are both of type UNKNOWN");
                    }

                    unkId = i;
                    break;
                case SentencePiecePieceType.Byte:
                    if (!trainer.ByteFallback)
                    {
                        throw Invalid(sourceName, $"byte piece {i} '{text}' is present although trainer_spec.byte_fallback is false");
                    }

                    var value = PieceToByte(text);
                    if (value < 0)
                    {
                        throw Invalid(sourceName, $"byte piece {i} '{text}' is not of the form <0xXX>");
                    }

                    _byteValues[i] = value;
                    bytesFound[value] = true;
                    break;
            }
        }

        if (unkId < 0)
        {
            throw Invalid(sourceName, "it has no piece of type UNKNOWN");
        }

        if (trainer.ByteFallback && Array.IndexOf(bytesFound, false) is var missing and >= 0)
        {
            throw Invalid(sourceName, $"trainer_spec.byte_fallback is true but there is no byte piece <0x{missing:X2}> (all 256 are required)");
        }

        if (ModelType == SentencePieceModelType.Unigram && !hasNormalPiece)
        {
            throw Invalid(sourceName, "the Unigram model has no normal, user-defined or unused pieces");
        }

        foreach (var (name, id) in trainer.ExplicitIds)
        {
            if (id < -1 || id >= _pieces.Length)
            {
                throw Invalid(sourceName, $"trainer_spec.{name} is {id}, outside the {_pieces.Length} pieces");
            }
        }

        _reservedLookup = _reservedIds.GetAlternateLookup<ReadOnlySpan<char>>();
        _normalLookup = _normalIds.GetAlternateLookup<ReadOnlySpan<char>>();

        var userDefinedTrie = userDefined.Count > 0 ? SentencePieceByteTrie.Build(userDefined) : null;
        try
        {
            _normalizer = new SentencePieceNormalizer(model.NormalizerSpec, trainer.TreatWhitespaceAsSuffix, userDefinedTrie);
            if (model.DenormalizerSpec is { PrecompiledCharsMap.Length: > 0 } denormalizer)
            {
                _denormalizer = new SentencePieceNormalizer(denormalizer, treatWhitespaceAsSuffix: false, userDefined: null);
            }
        }
        catch (InvalidDataException ex)
        {
            throw Invalid(sourceName, ex.Message, inner: ex);
        }

        if (ModelType == SentencePieceModelType.Unigram)
        {
            _unigram = UnigramEncoder.FromModel(_pieces, unkId, trainer.ByteFallback);
        }
        else
        {
            _bpe = new SentencePieceBpeEncoder(_pieces, unkId, trainer.ByteFallback, userDefinedTrie);
        }

        // Decoding maps each id to its piece and back (DecodeIds -> Decode(pieces) -> PieceToId).
        _decodeIds = new int[_pieces.Length];
        for (var i = 0; i < _pieces.Length; i++)
        {
            _decodeIds[i] = PieceToIdOrUnknown(_pieceStrings[i], unkId);
        }

        UnknownId = SpecialId(trainer.UnkPiece, "<unk>", SentencePiecePieceType.Unknown, unkId);
        BosId = SpecialId(trainer.BosPiece, "<s>", SentencePiecePieceType.Control, unkId);
        EosId = SpecialId(trainer.EosPiece, "</s>", SentencePiecePieceType.Control, unkId);
        PadId = SpecialId(trainer.PadPiece, "<pad>", SentencePiecePieceType.Control, unkId);
    }

    /// <summary>Gets the segmentation algorithm.</summary>
    public SentencePieceModelType ModelType { get; }

    /// <summary>Gets the vocabulary size.</summary>
    public int PieceCount { get; }

    /// <summary>Gets the id of the unknown piece (<c>unk_id()</c>), or -1.</summary>
    public int UnknownId { get; }

    /// <summary>Gets the id of the beginning-of-sentence piece (<c>bos_id()</c>), or -1 when the model has none.</summary>
    public int BosId { get; }

    /// <summary>Gets the id of the end-of-sentence piece (<c>eos_id()</c>), or -1 when the model has none.</summary>
    public int EosId { get; }

    /// <summary>Gets the id of the padding piece (<c>pad_id()</c>), or -1 when the model has none.</summary>
    public int PadId { get; }

    /// <summary>Gets a value indicating whether the normalizer prepends a space (<c>add_dummy_prefix</c>).</summary>
    public bool AddDummyPrefix { get; }

    /// <summary>Gets a value indicating whether unknown characters are encoded as byte pieces (<c>byte_fallback</c>).</summary>
    public bool ByteFallback { get; }

    /// <summary>Loads a <c>.model</c> file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The processor.</returns>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="ModelLoadException">The file cannot be read, is not a SentencePiece model, or uses an unsupported model type.</exception>
    public static SentencePieceProcessor Load(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        byte[] data;
        try
        {
            data = File.ReadAllBytes(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or System.Security.SecurityException)
        {
            throw new ModelLoadException($"Cannot read the SentencePiece model '{path}': {ex.Message}", path, ex);
        }

        return Load(data, path);
    }

    /// <summary>Loads a serialized <c>ModelProto</c>.</summary>
    /// <param name="data">The contents of a <c>.model</c> file.</param>
    /// <param name="sourceName">The file name or other description used in error messages and <see cref="ModelLoadException.ModelPath"/>.</param>
    /// <returns>The processor.</returns>
    /// <exception cref="ModelLoadException">The data is not a SentencePiece model, or uses an unsupported model type.</exception>
    public static SentencePieceProcessor Load(ReadOnlySpan<byte> data, string sourceName)
    {
        sourceName ??= "(memory)";
        if (data.IsEmpty)
        {
            throw Invalid(sourceName, "the file is empty");
        }

        SentencePieceModelProto model;
        try
        {
            model = SentencePieceModelProto.Parse(data);
        }
        catch (InvalidDataException ex)
        {
            throw Invalid(sourceName, ex.Message, inner: ex);
        }

        return new SentencePieceProcessor(model, sourceName);
    }

    /// <summary>Returns the piece of <paramref name="id"/>.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The piece, as stored (spaces appear as U+2581).</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is outside [0, <see cref="PieceCount"/>).</exception>
    public string IdToPiece(int id)
    {
        CheckId(id, nameof(id));
        return _pieceStrings[id];
    }

    /// <summary>Returns the id of <paramref name="piece"/>, or null when it is not in the vocabulary.</summary>
    /// <param name="piece">The piece (spaces as U+2581).</param>
    /// <returns>The id (control, unknown and byte pieces take precedence, as in SentencePiece), or null.</returns>
    public int? PieceToId(string piece)
    {
        ArgumentNullException.ThrowIfNull(piece);
        return PieceToId(piece.AsSpan());
    }

    /// <summary>Returns the id of <paramref name="piece"/>, or null when it is not in the vocabulary.</summary>
    /// <param name="piece">The piece (spaces as U+2581).</param>
    /// <returns>The id, or null.</returns>
    public int? PieceToId(ReadOnlySpan<char> piece) =>
        _reservedLookup.TryGetValue(piece, out var id) || _normalLookup.TryGetValue(piece, out id) ? id : null;

    /// <summary>Returns the type of <paramref name="id"/>.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The piece type.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is outside [0, <see cref="PieceCount"/>).</exception>
    public SentencePiecePieceType GetPieceType(int id)
    {
        CheckId(id, nameof(id));
        return _pieces[id].Type;
    }

    /// <summary>Returns the score of <paramref name="id"/>.</summary>
    /// <param name="id">The id.</param>
    /// <returns>The score.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="id"/> is outside [0, <see cref="PieceCount"/>).</exception>
    public float GetScore(int id)
    {
        CheckId(id, nameof(id));
        return _pieces[id].Score;
    }

    /// <summary>Encodes <paramref name="text"/> and appends the ids, exactly like <c>sp.encode(text)</c> (no BOS/EOS).</summary>
    /// <param name="text">The text.</param>
    /// <param name="ids">The list that receives the ids.</param>
    public void Encode(string text, List<int> ids)
    {
        ArgumentNullException.ThrowIfNull(text);
        Encode(text.AsSpan(), ids);
    }

    /// <summary>Encodes <paramref name="text"/> and appends the ids, exactly like <c>sp.encode(text)</c> (no BOS/EOS).</summary>
    /// <param name="text">The text.</param>
    /// <param name="ids">The list that receives the ids.</param>
    public void Encode(ReadOnlySpan<char> text, List<int> ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        if (text.IsEmpty)
        {
            return;
        }

        var utf8 = SentencePieceUtf8.RentUtf8(text, out var length);
        var normalized = new SentencePieceByteBuilder((length * 3) + 8);
        try
        {
            _normalizer.Normalize(utf8.AsSpan(0, length), ref normalized);
            if (_unigram is not null)
            {
                _unigram.Encode(normalized.Written, ids);
            }
            else
            {
                _bpe!.Encode(normalized.Written, ids);
            }
        }
        finally
        {
            normalized.Dispose();
            ArrayPool<byte>.Shared.Return(utf8);
        }
    }

    /// <summary>Decodes ids to text, exactly like <c>sp.decode(ids)</c>.</summary>
    /// <param name="ids">The ids.</param>
    /// <returns>The text.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside [0, <see cref="PieceCount"/>).</exception>
    public string Decode(ReadOnlySpan<int> ids)
    {
        foreach (var id in ids)
        {
            CheckId(id, nameof(ids));
        }

        if (ids.IsEmpty)
        {
            return string.Empty;
        }

        var text = new SentencePieceByteBuilder(ids.Length * 8);
        var bytes = new SentencePieceByteBuilder(16);
        try
        {
            var isBosWs = true;
            var bosWsSeen = false;
            foreach (var original in ids)
            {
                var id = _decodeIds[original];
                if (_pieces[id].Type == SentencePiecePieceType.Byte)
                {
                    bytes.Append((byte)_byteValues[id]);
                    continue;
                }

                FlushBytes(ref bytes, ref text);

                // Only the first piece that produces text (or starts with U+2581) may lose its leading space.
                if (bosWsSeen || text.Length > 0)
                {
                    isBosWs = false;
                }

                bosWsSeen = DecodePiece(_pieces[original].Piece, id, isBosWs, ref text);
            }

            FlushBytes(ref bytes, ref text);

            if (_denormalizer is not null)
            {
                return Encoding.UTF8.GetString(_denormalizer.Normalize(text.Written));
            }

            return Encoding.UTF8.GetString(text.Written);
        }
        finally
        {
            bytes.Dispose();
            text.Dispose();
        }
    }

    private static ModelLoadException Invalid(string sourceName, string what, bool notAModel = true, Exception? inner = null) =>
        new(notAModel ? $"'{sourceName}' is not a SentencePiece model: {what}" : $"'{sourceName}' cannot be loaded: {what}", sourceName, inner);

    /// <summary>SentencePiece's <c>PieceToByte</c>: 0 to 255 for exactly "&lt;0x00&gt;" … "&lt;0xFF&gt;" (upper-case hex), else -1.</summary>
    private static int PieceToByte(string piece)
    {
        if (piece.Length != 6 || !piece.StartsWith("<0x", StringComparison.Ordinal) || piece[5] != '>')
        {
            return -1;
        }

        var hi = HexValue(piece[3]);
        var lo = HexValue(piece[4]);
        return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;

        static int HexValue(char c) => c switch
        {
            >= '0' and <= '9' => c - '0',
            >= 'A' and <= 'F' => c - 'A' + 10,
            _ => -1,
        };
    }

    /// <summary>Appends the bytes of a run of byte pieces to <paramref name="text"/>, each invalid byte as U+FFFD.</summary>
    private static void FlushBytes(ref SentencePieceByteBuilder bytes, ref SentencePieceByteBuilder text)
    {
        var run = bytes.Written;
        var offset = 0;
        while (offset < run.Length)
        {
            if (SentencePieceUtf8.TryDecode(run[offset..], out var consumed))
            {
                text.Append(run.Slice(offset, consumed));
            }
            else
            {
                text.Append(SentencePieceUtf8.ReplacementCharacter);
            }

            offset += consumed;
        }

        bytes.Length = 0;
    }

    /// <summary>Appends the surface of one non-byte piece; returns whether it consumed a leading U+2581 as the sentence's dummy prefix.</summary>
    private bool DecodePiece(ReadOnlySpan<byte> piece, int id, bool isBosWs, ref SentencePieceByteBuilder text)
    {
        var type = _pieces[id].Type;
        if (type == SentencePiecePieceType.Control)
        {
            return false;
        }

        if (type == SentencePiecePieceType.Unknown)
        {
            if (_pieces[id].Piece.AsSpan().SequenceEqual(piece))
            {
                text.Append(_unknownSurface);
            }
            else
            {
                text.Append(piece);
            }

            return false;
        }

        var hasBosWs = false;
        if (isBosWs && (AddDummyPrefix || _removeExtraWhitespaces))
        {
            if (piece.StartsWith(SentencePieceUtf8.SpaceSymbol))
            {
                piece = piece[SentencePieceUtf8.SpaceSymbol.Length..];
                hasBosWs = true;
            }

            // With remove_extra_whitespaces every leading space goes, so the next piece is still "first".
            if (_removeExtraWhitespaces)
            {
                hasBosWs = false;
            }
        }

        while (!piece.IsEmpty)
        {
            var next = piece.IndexOf(SentencePieceUtf8.SpaceSymbol);
            if (next < 0)
            {
                text.Append(piece);
                break;
            }

            text.Append(piece[..next]);
            text.Append((byte)' ');
            piece = piece[(next + SentencePieceUtf8.SpaceSymbol.Length)..];
        }

        return hasBosWs;
    }

    private int PieceToIdOrUnknown(string piece, int unkId) =>
        _reservedIds.TryGetValue(piece, out var id) || _normalIds.TryGetValue(piece, out id) ? id : unkId;

    /// <summary><c>unk_id()</c>, <c>bos_id()</c> and friends: the id of the configured piece when it has the expected type, else -1.</summary>
    private int SpecialId(string piece, string fallback, SentencePiecePieceType expected, int unkId)
    {
        var id = PieceToIdOrUnknown(piece.Length == 0 ? fallback : piece, unkId);
        return _pieces[id].Type == expected ? id : -1;
    }

    private void CheckId(int id, string paramName)
    {
        if ((uint)id >= (uint)_pieces.Length)
        {
            throw new ArgumentOutOfRangeException(paramName, id, $"The id must be in [0, {_pieces.Length}).");
        }
    }
}
