// Structural checks and dimensions for PNG, JPEG, WebP and GIF uploads.
import Foundation

/// Per-format image parsers behind `MediaInspector`; each walks the whole file, not just its header.
enum ImageInspector {
    // MARK: PNG

    /// Walks every PNG chunk, verifying CRCs and chunk order (PNG spec, ISO/IEC 15948 §5 and §11).
    static func png(_ bytes: [UInt8]) throws(MediaError) -> MediaInfo {
        var reader = ByteReader(bytes, format: .png)
        try reader.skip(8, "the PNG signature")
        var size: (width: Int, height: Int)?
        var colourType: UInt8 = 0
        var sawPalette = false
        var imageChunks = 0
        var imageDataEnded = false
        while true {
            guard !reader.isAtEnd else { throw .truncated(.png, "the chunk stream, before its IEND chunk") }
            let chunkStart = reader.offset
            let length = try reader.u32be("a chunk header")
            // §5.3: lengths are limited to 2^31−1 so that readers using signed 32-bit sizes stay safe.
            guard length <= 0x7FFF_FFFF else {
                throw .malformed(.png, "A PNG chunk at byte \(chunkStart) declares \(length) bytes, more than the format allows.")
            }
            let typeBytes = try reader.read(4, "a chunk header")
            // §5.4: chunk types are four ASCII letters; anything else means we are not at a chunk boundary.
            guard typeBytes.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw .malformed(.png, "The PNG has bytes at offset \(chunkStart) that are not a valid chunk.")
            }
            let type = String(decoding: typeBytes, as: UTF8.self)
            let dataStart = reader.offset
            try reader.skip(length, "the \(type) chunk")
            let storedCRC = try reader.u32be("the \(type) chunk's checksum")
            guard Checksum.crc32(bytes, chunkStart + 4..<dataStart + length) == UInt32(storedCRC) else {
                throw .malformed(.png, "The PNG's \(type) chunk at byte \(chunkStart) is corrupt: its CRC-32 does not match its contents.")
            }
            var data = ByteReader(bytes, format: .png, from: dataStart, to: dataStart + length)

            guard let image = size else {
                guard type == "IHDR" else {
                    throw .malformed(.png, "A PNG must begin with an IHDR chunk, but this one begins with \(type).")
                }
                guard length == 13 else {
                    throw .malformed(.png, "The PNG's IHDR chunk is \(length) bytes long; it must be exactly 13.")
                }
                let width = try data.u32be("the IHDR chunk")
                let height = try data.u32be("the IHDR chunk")
                guard (1...0x7FFF_FFFF).contains(width), (1...0x7FFF_FFFF).contains(height) else {
                    throw .malformed(.png, "The PNG claims a size of \(width) × \(height) pixels; both sides must be between 1 and 2147483647.")
                }
                let depth = try data.u8("the IHDR chunk")
                colourType = try data.u8("the IHDR chunk")
                let compression = try data.u8("the IHDR chunk")
                let filter = try data.u8("the IHDR chunk")
                let interlace = try data.u8("the IHDR chunk")
                // §11.2.2 Table 11.1: the bit depths each colour type allows.
                let allowed: [UInt8]
                switch colourType {
                case 0: allowed = [1, 2, 4, 8, 16]
                case 3: allowed = [1, 2, 4, 8]
                case 2, 4, 6: allowed = [8, 16]
                default: allowed = []
                }
                guard allowed.contains(depth) else {
                    throw .malformed(.png, "The PNG's IHDR gives colour type \(colourType) with bit depth \(depth), which is not a valid combination.")
                }
                guard compression == 0, filter == 0, interlace <= 1 else {
                    throw .malformed(.png, "The PNG's IHDR names a compression, filter or interlace method that does not exist.")
                }
                size = (width, height)
                continue
            }

            if type != "IDAT", imageChunks > 0 { imageDataEnded = true }
            switch type {
            case "IHDR":
                throw .malformed(.png, "The PNG has a second IHDR chunk.")
            case "PLTE":
                // §11.2.3: one palette, before the image data, a whole number of 1–256 RGB entries, never for grey.
                guard !sawPalette, imageChunks == 0, length % 3 == 0, (3...768).contains(length), colourType != 0, colourType != 4 else {
                    throw .malformed(.png, "The PNG's palette (PLTE chunk) is misplaced, duplicated or the wrong size.")
                }
                sawPalette = true
            case "IDAT":
                // §5.6: the image data is one run of consecutive IDAT chunks.
                guard !imageDataEnded else {
                    throw .malformed(.png, "The PNG's image data (IDAT chunks) is split by other chunks.")
                }
                guard colourType != 3 || sawPalette else {
                    throw .malformed(.png, "The PNG is a palette image but has no palette before its image data.")
                }
                imageChunks += 1
            case "IEND":
                guard length == 0 else { throw .malformed(.png, "The PNG's IEND chunk is not empty.") }
                guard imageChunks > 0 else { throw .malformed(.png, "The PNG contains no image data (no IDAT chunk).") }
                guard reader.isAtEnd else {
                    throw .malformed(.png, "The PNG has \(reader.remaining) bytes of unexpected data after its end (IEND chunk).")
                }
                return MediaInfo(format: .png, width: image.width, height: image.height)
            default:
                // §5.4: an unknown chunk with the ancillary bit clear (upper-case first letter) cannot be skipped safely.
                if typeBytes.first.map({ $0 < 0x61 }) ?? false {
                    throw .unsupported(.png, "The PNG contains a critical \(type) chunk that standard PNG readers do not understand.")
                }
            }
        }
    }

    // MARK: JPEG

    /// Walks JPEG marker segments to the frame header, then the scans to the end-of-image marker (ITU-T T.81 Annex B).
    static func jpeg(_ bytes: [UInt8]) throws(MediaError) -> MediaInfo {
        var reader = ByteReader(bytes, format: .jpeg)
        try reader.skip(2, "the start-of-image marker")
        var frame: (width: Int, height: Int)?
        while true {
            let markerOffset = reader.offset
            let marker = try nextMarker(&reader)
            switch marker {
            case 0x01, 0xD0...0xD7:
                continue  // TEM and RSTn stand alone, with no length (T.81 Table B.1).
            case 0xD8:
                throw .malformed(.jpeg, "The JPEG has a second start-of-image marker at byte \(markerOffset).")
            case 0xD9:
                throw .malformed(.jpeg, "The JPEG ends (end-of-image marker) before any image data.")
            case 0xDA:
                guard let frame else {
                    throw .malformed(.jpeg, "The JPEG's image data starts before its frame header (SOF marker).")
                }
                try scanHeader(&reader)
                try walkScans(&reader)
                return MediaInfo(format: .jpeg, width: frame.width, height: frame.height)
            default:
                let length = try reader.u16be("a marker segment")
                guard length >= 2 else {
                    throw .malformed(.jpeg, "The JPEG has a marker segment at byte \(markerOffset) with an impossible length of \(length).")
                }
                var segment = ByteReader(bytes, format: .jpeg, from: reader.offset, to: reader.offset + length - 2)
                try reader.skip(length - 2, "a marker segment")
                guard isStartOfFrame(marker) else { continue }
                guard frame == nil else { throw .malformed(.jpeg, "The JPEG has two frame headers (SOF markers).") }
                // T.81 §B.2.2: P, Y, X, Nf, then three bytes per component.
                _ = try segment.u8("the frame header")
                let height = try segment.u16be("the frame header")
                let width = try segment.u16be("the frame header")
                let components = Int(try segment.u8("the frame header"))
                guard components > 0, segment.remaining == 3 * components else {
                    throw .malformed(.jpeg, "The JPEG's frame header lists \(components) colour components but its length does not match.")
                }
                guard width > 0, height > 0 else {
                    throw .malformed(.jpeg, "The JPEG's frame header gives a size of \(width) × \(height) pixels.")
                }
                frame = (width, height)
            }
        }
    }

    /// SOF0–SOF15 except DHT (C4), JPG (C8) and DAC (CC), which share the range (T.81 Table B.1).
    private static func isStartOfFrame(_ marker: UInt8) -> Bool {
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
    }

    /// Reads a marker at the cursor, skipping the 0xFF fill bytes T.81 §B.1.1.2 allows before it.
    private static func nextMarker(_ reader: inout ByteReader) throws(MediaError) -> UInt8 {
        let position = reader.offset
        let lead = try reader.u8("a marker")
        guard lead == 0xFF else {
            throw .malformed(.jpeg, "The JPEG data is damaged: byte \(position) should start a marker but holds 0x\(hex(lead)).")
        }
        var marker = try reader.u8("a marker")
        while marker == 0xFF { marker = try reader.u8("a marker") }
        guard marker != 0x00 else {
            throw .malformed(.jpeg, "The JPEG data is damaged: byte \(position) holds an invalid marker.")
        }
        return marker
    }

    /// Checks a start-of-scan header (T.81 §B.2.3): Ns components, two bytes each, then Ss, Se, Ah/Al.
    private static func scanHeader(_ reader: inout ByteReader) throws(MediaError) {
        let length = try reader.u16be("a scan header")
        let components = Int(try reader.u8("a scan header"))
        guard (1...4).contains(components), length == 6 + 2 * components else {
            throw .malformed(.jpeg, "The JPEG has a scan header (SOS) with an invalid length or component count.")
        }
        try reader.skip(length - 3, "a scan header")
    }

    /// Follows entropy-coded data and any later tables and scans to EOI; bytes after EOI are allowed,
    /// since cameras append previews and multi-picture (MPF) images there.
    private static func walkScans(_ reader: inout ByteReader) throws(MediaError) {
        while true {
            // Inside entropy-coded data 0xFF is always followed by a stuffed 0x00 or a marker (T.81 §B.1.1.5).
            guard let lead = reader.bytes[reader.offset..<reader.end].firstIndex(of: 0xFF) else {
                throw .truncated(.jpeg, "the image data, before its end-of-image marker")
            }
            if reader.bytes.hasBytes([0xFF, 0x00], at: lead) {
                try reader.seek(to: lead + 2, "the image data")
                continue
            }
            try reader.seek(to: lead, "the image data, before its end-of-image marker")
            var inSegments = true
            while inSegments {
                let position = reader.offset
                let marker = try nextMarker(&reader)
                switch marker {
                case 0xD9:
                    return
                case 0x01, 0xD0...0xD7:
                    inSegments = false
                case 0xD8:
                    throw .malformed(.jpeg, "The JPEG has a start-of-image marker inside its image data at byte \(position).")
                case 0xDA:
                    try scanHeader(&reader)
                    inSegments = false
                default:
                    guard !isStartOfFrame(marker) else {
                        throw .malformed(.jpeg, "The JPEG has a second frame header inside its image data.")
                    }
                    let length = try reader.u16be("a marker segment")
                    guard length >= 2 else {
                        throw .malformed(.jpeg, "The JPEG has a marker segment at byte \(position) with an impossible length of \(length).")
                    }
                    try reader.skip(length - 2, "a marker segment")
                    // Tables between scans (DHT, DQT, DRI, COM, APPn, DNL) are followed by another marker.
                }
            }
        }
    }

    // MARK: WebP

    /// Checks the RIFF container and reads the canvas size from the first chunk (WebP container spec, RFC 9649).
    static func webp(_ bytes: [UInt8]) throws(MediaError) -> MediaInfo {
        var header = ByteReader(bytes, format: .webp)
        try header.skip(4, "the RIFF header")
        let riffSize = try header.u32le("the RIFF header")
        try header.skip(4, "the RIFF header")
        guard riffSize >= 4 else { throw .malformed(.webp, "The WebP file's RIFF header declares an impossible size of \(riffSize) bytes.") }
        let riffEnd = riffSize + 8
        guard riffEnd <= bytes.count else {
            throw .truncated(.webp, "its data: the header declares \(riffEnd) bytes but the file has only \(bytes.count)")
        }
        var chunks = ByteReader(bytes, format: .webp, from: 12, to: riffEnd)
        var first = true
        var size: (width: Int, height: Int) = (0, 0)
        var hasImage = false
        while !chunks.isAtEnd {
            let tag = try chunks.fourCC("a chunk header")
            let length = try chunks.u32le("the \(tag) chunk header")
            let start = chunks.offset
            try chunks.skip(length, "the \(tag) chunk")
            // RIFF pads odd-sized chunks to an even length.
            if length % 2 == 1, !chunks.isAtEnd { try chunks.skip(1, "the padding after the \(tag) chunk") }
            var data = ByteReader(bytes, format: .webp, from: start, to: start + length)
            if tag == "VP8 " || tag == "VP8L" || tag == "ANMF" { hasImage = true }
            guard first else { continue }
            first = false
            switch tag {
            case "VP8 ":
                // RFC 6386 §9.1: a 3-byte frame tag, then the key-frame start code and 14-bit dimensions.
                let frameTag = Int(try data.littleEndian(3, "the VP8 frame header"))
                guard frameTag & 1 == 0, (frameTag >> 1) & 7 <= 3, (frameTag >> 4) & 1 == 1, frameTag >> 5 < length else {
                    throw .malformed(.webp, "The WebP's VP8 frame header is invalid (not a displayable key frame).")
                }
                guard try data.read(3, "the VP8 frame header").elementsEqual([0x9D, 0x01, 0x2A]) else {
                    throw .malformed(.webp, "The WebP's VP8 data lacks the key-frame start code.")
                }
                size = (try data.u16le("the VP8 frame header") & 0x3FFF, try data.u16le("the VP8 frame header") & 0x3FFF)
            case "VP8L":
                // WebP lossless bitstream §3.1: signature 0x2F, then 14-bit width−1 and height−1 and a 3-bit version of 0.
                guard try data.u8("the VP8L header") == 0x2F else {
                    throw .malformed(.webp, "The WebP's lossless (VP8L) data has the wrong signature.")
                }
                let bits = try data.u32le("the VP8L header")
                guard bits >> 29 == 0 else { throw .unsupported(.webp, "The WebP uses an unknown lossless bitstream version.") }
                size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
            case "VP8X":
                try data.skip(4, "the VP8X header")
                size = (try data.u24le("the VP8X header") + 1, try data.u24le("the VP8X header") + 1)
                // The container spec caps the canvas at 2^32−1 pixels.
                guard UInt64(size.width) * UInt64(size.height) <= 0xFFFF_FFFF else {
                    throw .malformed(.webp, "The WebP's canvas of \(size.width) × \(size.height) pixels is larger than the format allows.")
                }
            default:
                throw .malformed(.webp, "The WebP file's first chunk is \"\(tag)\", not image data (VP8, VP8L or VP8X).")
            }
        }
        guard hasImage else { throw .malformed(.webp, "The WebP file contains no image data.") }
        guard size.width > 0, size.height > 0 else {
            throw .malformed(.webp, "The WebP gives a size of \(size.width) × \(size.height) pixels.")
        }
        return MediaInfo(format: .webp, width: size.width, height: size.height)
    }

    // MARK: GIF

    /// Walks the GIF block stream to its trailer (GIF89a specification §17–§27).
    static func gif(_ bytes: [UInt8]) throws(MediaError) -> MediaInfo {
        var reader = ByteReader(bytes, format: .gif)
        try reader.skip(6, "the GIF header")
        let width = try reader.u16le("the logical screen descriptor")
        let height = try reader.u16le("the logical screen descriptor")
        let flags = try reader.u8("the logical screen descriptor")
        try reader.skip(2, "the logical screen descriptor")
        guard width > 0, height > 0 else {
            throw .malformed(.gif, "The GIF gives a size of \(width) × \(height) pixels.")
        }
        // §18: a colour table of 2^(n+1) RGB entries follows when the top flag bit is set.
        if flags & 0x80 != 0 { try reader.skip(3 << (Int(flags & 7) + 1), "the global colour table") }
        var images = 0
        while true {
            let position = reader.offset
            let introducer = try reader.u8("its block stream, before the trailer")
            switch introducer {
            case 0x21:
                try reader.skip(1, "an extension block")
                try skipSubBlocks(&reader, "an extension block")
            case 0x2C:
                try reader.skip(8, "an image descriptor")
                let imageFlags = try reader.u8("an image descriptor")
                if imageFlags & 0x80 != 0 { try reader.skip(3 << (Int(imageFlags & 7) + 1), "a local colour table") }
                let codeSize = try reader.u8("an image's data")
                // §22: LZW codes are at most 12 bits, and the minimum code size is the colour depth (at most 8).
                guard (1...8).contains(codeSize) else {
                    throw .malformed(.gif, "The GIF's image data declares an invalid LZW code size of \(codeSize).")
                }
                try skipSubBlocks(&reader, "an image's data")
                images += 1
            case 0x3B:
                guard images > 0 else { throw .malformed(.gif, "The GIF contains no image.") }
                return MediaInfo(format: .gif, width: width, height: height)
            default:
                throw .malformed(.gif, "The GIF data is damaged: byte \(position) holds 0x\(hex(introducer)), which starts no known block.")
            }
        }
    }

    /// Skips a chain of length-prefixed sub-blocks up to its empty terminator (§15).
    private static func skipSubBlocks(_ reader: inout ByteReader, _ what: String) throws(MediaError) {
        while true {
            let length = Int(try reader.u8(what))
            if length == 0 { return }
            try reader.skip(length, what)
        }
    }

    /// Two upper-case hex digits, for naming a stray byte.
    static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
