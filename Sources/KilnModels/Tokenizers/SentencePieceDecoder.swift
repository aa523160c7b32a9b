// Decoding as `SentencePieceProcessor::Decode` does it: control pieces vanish, the unknown piece
// becomes its surface (" ⁇ "), runs of `<0xXX>` pieces are fused and read as UTF-8 with one U+FFFD
// per structurally invalid byte, "▁" becomes a space, and the "▁" of the dummy prefix is dropped
// from the first piece that has one. It works on ids, not strings, because piece types matter.

import Foundation

/// Turns SentencePiece ids back into text.
struct SentencePieceDecoder: Sendable {
    let texts: [String]
    let types: [PieceType]
    /// The byte of each `<0xXX>` byte piece.
    let byteValues: [Int: UInt8]
    let unkId: Int?
    let unkSurface: String
    /// Whether the leading "▁" is consumed (upstream: add_dummy_prefix or remove_extra_whitespaces).
    let consumesLeadingSpace: Bool
    let removeExtraWhitespaces: Bool
    /// ChatGLM3's `SPTokenizer.decode` decodes each run of pieces between specials on its own,
    /// so every run drops its own dummy-prefix space; transformers-style decoding does one pass.
    let restartAfterLiteral: Bool

    init(spec: SentencePieceSpec, restartAfterLiteral: Bool) {
        texts = spec.pieces.map(\.text)
        types = spec.pieces.map(\.type)
        var bytes: [Int: UInt8] = [:]
        for (id, p) in spec.pieces.enumerated() where p.type == .byte {
            let u = Array(p.text.utf8)
            if u.count == 6, u.starts(with: Array("<0x".utf8)), u[5] == UInt8(ascii: ">"),
               let b = UInt8(String(decoding: u[3..<5], as: UTF8.self), radix: 16) {
                bytes[id] = b
            }
        }
        byteValues = bytes
        unkId = spec.unkId >= 0 ? spec.unkId : nil
        unkSurface = spec.unkSurface
        consumesLeadingSpace = spec.addDummyPrefix || spec.removeExtraWhitespaces
        removeExtraWhitespaces = spec.removeExtraWhitespaces
        self.restartAfterLiteral = restartAfterLiteral
    }

    /// Decodes `ids`; `literal` gives the text of ids that are not pieces (added tokens), `skip` drops ids.
    func decode(_ ids: [Int], literal: (Int) -> String?, skip: (Int) -> Bool) -> String {
        var out: [UInt8] = []
        var pending: [UInt8] = []
        var runStart = 0
        var isBosWs = true
        var bosWsSeen = false
        for id in ids where !skip(id) {
            if let text = literal(id) {
                Self.flush(&pending, into: &out)
                out += Array(text.utf8)
                if restartAfterLiteral {
                    runStart = out.count
                    isBosWs = true
                    bosWsSeen = false
                }
                continue
            }
            guard texts.indices.contains(id) else { continue }
            if types[id] == .byte, let b = byteValues[id] {
                pending.append(b)
                continue
            }
            Self.flush(&pending, into: &out)
            if bosWsSeen || out.count > runStart { isBosWs = false }
            bosWsSeen = false
            switch types[id] {
            case .control:
                continue
            case _ where id == unkId:
                out += Array(unkSurface.utf8)
            default:
                var piece = Array(texts[id].utf8)
                if isBosWs && consumesLeadingSpace && piece.starts(with: Self.space) {
                    piece.removeFirst(3)
                    bosWsSeen = !removeExtraWhitespaces
                }
                out += Self.replacingSpaceSymbol(piece)
            }
        }
        Self.flush(&pending, into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// "▁" (U+2581) in UTF-8.
    static let space: [UInt8] = [0xE2, 0x96, 0x81]

    static func replacingSpaceSymbol(_ piece: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(piece.count)
        var i = 0
        while i < piece.count {
            if piece[i] == 0xE2, i + 2 < piece.count, piece[i + 1] == 0x96, piece[i + 2] == 0x81 {
                out.append(0x20)
                i += 3
            } else {
                out.append(piece[i])
                i += 1
            }
        }
        return out
    }

    /// Appends fused byte pieces: each valid UTF-8 character as is, each invalid byte as U+FFFD.
    static func flush(_ pending: inout [UInt8], into out: inout [UInt8]) {
        var i = 0
        while i < pending.count {
            if let n = validCharacterLength(pending, at: i) {
                out += pending[i..<(i + n)]
                i += n
            } else {
                out += [0xEF, 0xBF, 0xBD]
                i += 1
            }
        }
        pending.removeAll(keepingCapacity: true)
    }

    /// The length of the well-formed UTF-8 character at `i` (RFC 3629 table), or nil.
    static func validCharacterLength(_ b: [UInt8], at i: Int) -> Int? {
        let lead = b[i]
        let n: Int
        var lo: UInt8 = 0x80, hi: UInt8 = 0xBF
        switch lead {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: n = 2
        case 0xE0: n = 3; lo = 0xA0
        case 0xE1...0xEC, 0xEE, 0xEF: n = 3
        case 0xED: n = 3; hi = 0x9F
        case 0xF0: n = 4; lo = 0x90
        case 0xF1...0xF3: n = 4
        case 0xF4: n = 4; hi = 0x8F
        default: return nil
        }
        guard i + n <= b.count else { return nil }
        guard (lo...hi).contains(b[i + 1]) else { return nil }
        for k in 2..<max(2, n) where !(0x80...0xBF).contains(b[i + k]) { return nil }
        return n
    }
}
