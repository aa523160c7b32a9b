// Reads a SentencePiece `tokenizer.model`: a protobuf `ModelProto` (sentencepiece_model.proto).
// Only the fields the encoder and decoder need are kept; everything else is skipped by wire type.
// The wire-format reader is strict and bounds-checked so that a damaged file throws
// `TokenizerError.invalidModelFile` instead of reading past the end or trapping.

import Foundation

/// A forward-only reader of protobuf wire format over a byte buffer.
struct ProtobufReader {
    /// The protobuf wire types; groups (3, 4) are deprecated and rejected.
    enum WireType: UInt8 { case varint = 0, fixed64 = 1, lengthDelimited = 2, fixed32 = 5 }

    let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int

    init(_ bytes: [UInt8], range: Range<Int>? = nil) {
        self.bytes = bytes
        offset = range?.lowerBound ?? 0
        end = range?.upperBound ?? bytes.count
    }

    var isAtEnd: Bool { offset >= end }

    /// The next field's number and wire type, or nil at the end of the message.
    mutating func nextField() throws(TokenizerError) -> (number: Int, wire: WireType)? {
        if isAtEnd { return nil }
        let key = try varint()
        let number = key >> 3
        guard number > 0, number <= 536_870_911 else { throw .invalidModelFile("field number \(number) at byte \(offset)") }
        guard let wire = WireType(rawValue: UInt8(key & 7)) else {
            throw .invalidModelFile("wire type \(key & 7) at byte \(offset)")
        }
        return (Int(number), wire)
    }

    /// A base-128 varint of at most ten bytes.
    mutating func varint() throws(TokenizerError) -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard offset < end else { throw .invalidModelFile("truncated varint at byte \(offset)") }
            let b = bytes[offset]
            offset += 1
            // The tenth byte may only carry the top bit of a 64-bit value.
            if shift == 63 && b > 1 { throw .invalidModelFile("varint overflows 64 bits at byte \(offset)") }
            result |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return result }
            shift += 7
        }
    }

    /// A little-endian 32-bit value (`float`, `fixed32`).
    mutating func fixed32() throws(TokenizerError) -> UInt32 {
        guard end - offset >= 4 else { throw .invalidModelFile("truncated fixed32 at byte \(offset)") }
        var v: UInt32 = 0
        for i in 0..<4 { v |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
        offset += 4
        return v
    }

    /// A little-endian 64-bit value (`double`, `fixed64`).
    mutating func fixed64() throws(TokenizerError) -> UInt64 {
        guard end - offset >= 8 else { throw .invalidModelFile("truncated fixed64 at byte \(offset)") }
        var v: UInt64 = 0
        for i in 0..<8 { v |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
        offset += 8
        return v
    }

    /// The byte range of a length-delimited value (string, bytes, sub-message).
    mutating func lengthDelimited() throws(TokenizerError) -> Range<Int> {
        let n = try varint()
        guard n <= UInt64(end - offset) else { throw .invalidModelFile("length \(n) runs past the end at byte \(offset)") }
        let range = offset..<(offset + Int(n))
        offset += Int(n)
        return range
    }

    /// A UTF-8 string field; invalid UTF-8 is an error rather than silently repaired.
    mutating func string() throws(TokenizerError) -> String {
        let range = try lengthDelimited()
        guard let s = String(validating: bytes[range], as: UTF8.self) else {
            throw .invalidModelFile("invalid UTF-8 string at byte \(range.lowerBound)")
        }
        return s
    }

    /// Skips a value of the given wire type.
    mutating func skip(_ wire: WireType) throws(TokenizerError) {
        switch wire {
        case .varint: _ = try varint()
        case .fixed64: _ = try fixed64()
        case .fixed32: _ = try fixed32()
        case .lengthDelimited: _ = try lengthDelimited()
        }
    }

    /// Checks the wire type before a typed read, so a mistyped field is an error, not garbage.
    func expect(_ wire: WireType, _ got: WireType, field: String) throws(TokenizerError) {
        guard wire == got else { throw .invalidModelFile("field \(field) has wire type \(got.rawValue)") }
    }
}

/// The SentencePiece piece types (`ModelProto.SentencePiece.Type`), numbered as upstream and as llama.cpp's token types.
enum PieceType: Int, Sendable {
    case normal = 1, unknown = 2, control = 3, userDefined = 4, unused = 5, byte = 6
}

/// The parts of a `ModelProto` that tokenization uses.
struct SentencePieceSpec: Sendable {
    /// One vocabulary entry.
    struct Piece: Sendable {
        var text: String
        var score: Float
        var type: PieceType
    }

    var pieces: [Piece] = []
    /// `trainer_spec.model_type`: 1 UNIGRAM (the proto default), 2 BPE, 3 WORD, 4 CHAR.
    var modelType = 1
    var byteFallback = false
    var treatWhitespaceAsSuffix = false
    var unkId = 0
    var bosId = 1
    var eosId = 2
    var padId = -1
    var unkSurface = " \u{2047} "
    /// `normalizer_spec.name` ("identity", "nmt_nfkc", "nfkc", …); empty when absent.
    var normalizerName = ""
    var hasCharsMap = false
    /// `normalizer_spec.precompiled_charsmap`, parsed; nil when absent or empty.
    var charsMap: PrecompiledCharsMap?
    var addDummyPrefix = true
    var removeExtraWhitespaces = true
    var escapeWhitespaces = true

    /// Parses a serialized `ModelProto`.
    /// - Throws: `TokenizerError.invalidModelFile` for malformed wire data or an unusable vocabulary.
    init(data: Data) throws(TokenizerError) {
        let bytes = [UInt8](data)
        var r = ProtobufReader(bytes)
        while let (field, wire) = try r.nextField() {
            switch field {
            case 1:
                try r.expect(.lengthDelimited, wire, field: "pieces")
                pieces.append(try Self.piece(bytes, try r.lengthDelimited()))
            case 2:
                try r.expect(.lengthDelimited, wire, field: "trainer_spec")
                try readTrainerSpec(bytes, try r.lengthDelimited())
            case 3:
                try r.expect(.lengthDelimited, wire, field: "normalizer_spec")
                try readNormalizerSpec(bytes, try r.lengthDelimited())
            default:
                try r.skip(wire)
            }
        }
        guard !pieces.isEmpty else { throw .invalidModelFile("no pieces") }
        if unkId >= 0 && unkId >= pieces.count { throw .invalidModelFile("unk_id \(unkId) is outside the \(pieces.count) pieces") }
    }

    /// Builds a spec from already-decoded pieces (GGUF `tokenizer.ggml.*` arrays).
    init(pieces: [Piece], modelType: Int) {
        self.pieces = pieces
        self.modelType = modelType
        normalizerName = "identity"
        removeExtraWhitespaces = false
        byteFallback = pieces.contains { $0.type == .byte }
        unkId = pieces.firstIndex { $0.type == .unknown } ?? -1
    }

    private static func piece(_ bytes: [UInt8], _ range: Range<Int>) throws(TokenizerError) -> Piece {
        var r = ProtobufReader(bytes, range: range)
        var p = Piece(text: "", score: 0, type: .normal)
        while let (field, wire) = try r.nextField() {
            switch field {
            case 1:
                try r.expect(.lengthDelimited, wire, field: "piece")
                p.text = try r.string()
            case 2:
                try r.expect(.fixed32, wire, field: "score")
                p.score = Float(bitPattern: try r.fixed32())
            case 3:
                try r.expect(.varint, wire, field: "type")
                let raw = try r.varint()
                guard let t = PieceType(rawValue: Int(truncatingIfNeeded: raw)), raw <= 6 else {
                    throw .invalidModelFile("piece type \(raw)")
                }
                p.type = t
            default:
                try r.skip(wire)
            }
        }
        return p
    }

    private mutating func readTrainerSpec(_ bytes: [UInt8], _ range: Range<Int>) throws(TokenizerError) {
        var r = ProtobufReader(bytes, range: range)
        while let (field, wire) = try r.nextField() {
            switch field {
            case 3, 24, 35, 40, 41, 42, 43:
                try r.expect(.varint, wire, field: "trainer_spec.\(field)")
                // int32 fields are sign-extended to 64 bits on the wire (-1 takes ten bytes).
                let v = Int(truncatingIfNeeded: Int32(truncatingIfNeeded: try r.varint()))
                switch field {
                case 3: modelType = v
                case 24: treatWhitespaceAsSuffix = v != 0
                case 35: byteFallback = v != 0
                case 40: unkId = v
                case 41: bosId = v
                case 42: eosId = v
                default: padId = v
                }
            case 48:
                try r.expect(.lengthDelimited, wire, field: "unk_surface")
                unkSurface = try r.string()
            default:
                try r.skip(wire)
            }
        }
    }

    private mutating func readNormalizerSpec(_ bytes: [UInt8], _ range: Range<Int>) throws(TokenizerError) {
        var r = ProtobufReader(bytes, range: range)
        while let (field, wire) = try r.nextField() {
            switch field {
            case 1:
                try r.expect(.lengthDelimited, wire, field: "normalizer_spec.name")
                normalizerName = try r.string()
            case 2:
                try r.expect(.lengthDelimited, wire, field: "precompiled_charsmap")
                let blob = Array(bytes[try r.lengthDelimited()])
                hasCharsMap = !blob.isEmpty
                charsMap = blob.isEmpty ? nil : try PrecompiledCharsMap(blob)
            case 3, 4, 5:
                try r.expect(.varint, wire, field: "normalizer_spec.\(field)")
                let on = try r.varint() != 0
                if field == 3 { addDummyPrefix = on } else if field == 4 { removeExtraWhitespaces = on } else { escapeWhitespaces = on }
            default:
                try r.skip(wire)
            }
        }
    }
}
