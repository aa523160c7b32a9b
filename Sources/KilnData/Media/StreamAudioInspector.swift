// Structural checks and durations for the stream formats: MPEG audio (MP3) frames and Ogg pages.
import Foundation

/// A decoded 4-byte MPEG-1/2/2.5 audio frame header (ISO/IEC 11172-3 §2.4.2.3, ISO/IEC 13818-3).
struct MPEGAudioHeader: Equatable {
    /// 1 for MPEG-1, 2 for MPEG-2, 25 for the unofficial MPEG-2.5.
    var version: Int
    /// 1, 2 or 3.
    var layer: Int
    /// Samples per second.
    var sampleRate: Int
    /// Whether the frame is single-channel, which moves the Xing tag (smaller side information).
    var isMono: Bool
    /// The whole frame's size in bytes, header included.
    var frameLength: Int
    /// PCM samples per channel the frame decodes to.
    var samplesPerFrame: Int

    // Kilobits per second by [row][index]; rows are V1 L1, V1 L2, V1 L3, V2 L1, V2 L2/L3. Index 0 is "free".
    private static let bitrates: [[Int]] = [
        [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
        [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
    ]

    // MPEG-1 rates by index; MPEG-2 halves them and MPEG-2.5 quarters them.
    private static let sampleRates = [44_100, 48_000, 32_000]

    /// Decodes a header, or nil when any field holds a reserved or unsupported value.
    init?(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) {
        guard b0 == 0xFF, b1 & 0xE0 == 0xE0 else { return nil }  // 11-bit frame sync
        let versionBits = (b1 >> 3) & 3, layerBits = (b1 >> 1) & 3
        let bitrateIndex = Int(b2 >> 4), rateIndex = Int((b2 >> 2) & 3)
        // Reserved version, layer, sample rate and emphasis; free-format bitrate (index 0) hides the frame length.
        guard versionBits != 1, layerBits != 0, bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3, b3 & 3 != 2 else { return nil }
        version = versionBits == 3 ? 1 : versionBits == 2 ? 2 : 25
        layer = 4 - Int(layerBits)
        sampleRate = Self.sampleRates[rateIndex] / (version == 1 ? 1 : version == 2 ? 2 : 4)
        isMono = b3 >> 6 == 3
        let row = version == 1 ? layer - 1 : (layer == 1 ? 3 : 4)
        let bitrate = Self.bitrates[row][bitrateIndex] * 1000
        let padding = Int((b2 >> 1) & 1)
        switch layer {
        case 1:
            frameLength = (12 * bitrate / sampleRate + padding) * 4
            samplesPerFrame = 384
        case 2:
            frameLength = 144 * bitrate / sampleRate + padding
            samplesPerFrame = 1152
        default:
            frameLength = (version == 1 ? 144 : 72) * bitrate / sampleRate + padding
            samplesPerFrame = version == 1 ? 1152 : 576
        }
    }

    /// Whether `other` could continue the same stream; decoders lock on version, layer and rate.
    func continues(_ other: MPEGAudioHeader) -> Bool {
        version == other.version && layer == other.layer && sampleRate == other.sampleRate
    }
}

extension AudioInspector {
    /// "ID3", which opens an ID3v2 tag (checked once per tag, so spelled once).
    private static let id3Magic: [UInt8] = Array("ID3".utf8)
    /// "OggS", the capture pattern opening every Ogg page (RFC 3533 §6).
    private static let oggPageMagic: [UInt8] = Array("OggS".utf8)

    // MARK: MP3

    /// Skips ID3v2 tags, then walks every MPEG audio frame to the end or to trailing ID3v1/APE tags.
    static func mp3(_ bytes: [UInt8]) throws(MediaError) -> MediaInfo {
        var position = 0
        while bytes.hasBytes(id3Magic, at: position) {
            var tag = ByteReader(bytes, format: .mp3, from: position)
            try tag.skip(3, "the ID3 tag")
            let major = try tag.u8("the ID3 tag")
            try tag.skip(1, "the ID3 tag")
            let flags = try tag.u8("the ID3 tag")
            let sizeBytes = try tag.read(4, "the ID3 tag")
            // ID3v2 §3.1: the size is "syncsafe", 7 bits per byte, and excludes the 10-byte header (and footer).
            guard sizeBytes.allSatisfy({ $0 < 0x80 }) else { throw .malformed(.mp3, "The file's ID3 tag has an invalid size.") }
            let size = sizeBytes.reduce(0) { $0 << 7 | Int($1) }
            let total = 10 + size + (major == 4 && flags & 0x10 != 0 ? 10 : 0)
            guard total <= bytes.count - position else { throw .truncated(.mp3, "the ID3 tag at its start") }
            position += total
        }
        // Some taggers pad past the size they declare; zeros cannot start a frame, so skipping them is safe.
        while position < bytes.count, bytes[position] == 0 { position += 1 }
        if position > 0, let other = MediaSniffer.sniff(Array(bytes[position..<min(position + 16, bytes.count)])), other != .mp3 {
            throw .malformed(.mp3, "The file is \(other.displayName) data behind an MP3-style ID3 tag; remove the tag or upload a plain \(other.displayName) file.")
        }
        let end = trailingTagsStart(bytes, notBefore: position)
        guard position < end else { throw .malformed(.mp3, "The file holds only tags and no MPEG audio frames.") }
        var first: MPEGAudioHeader?
        var frames = 0
        var samples = 0
        var summary: (isInfoFrame: Bool, frames: Int?) = (false, nil)
        while position < end {
            guard end - position >= 4,
                  let header = MPEGAudioHeader(bytes[position], bytes[position + 1], bytes[position + 2], bytes[position + 3]) else {
                throw .malformed(.mp3, frames == 0
                    ? "The file has no MPEG audio frame where its audio should begin."
                    : "The MP3 data is damaged: byte \(position) does not start an audio frame (after \(frames) good frames).")
            }
            if let first, !header.continues(first) {
                throw .malformed(.mp3, "The MP3 changes its MPEG version, layer or sample rate at byte \(position); it is not one stream.")
            }
            guard header.frameLength <= end - position else { throw .truncated(.mp3, "its last audio frame") }
            if first == nil { summary = encoderSummary(bytes, frameAt: position, header) }
            if first != nil || !summary.isInfoFrame { samples += header.samplesPerFrame }
            first = first ?? header
            frames += 1
            position += header.frameLength
        }
        guard let first, frames >= 2 else {
            throw .malformed(.mp3, "The file holds fewer than two MPEG audio frames, too few to be a real MP3.")
        }
        let audioFrames = frames - (summary.isInfoFrame ? 1 : 0)
        // A count of frames is what LAME and Fraunhofer encoders write (excluding the tag frame itself); having
        // fewer means the end is missing. More is tolerated: joined files keep the first part's count.
        if let declared = summary.frames, declared > audioFrames {
            throw .truncated(.mp3, "its audio frames: the header announces \(declared) frames but only \(audioFrames) are present")
        }
        return MediaInfo(format: .mp3, seconds: Double(samples) / Double(first.sampleRate))
    }

    /// Looks for a Xing/Info or VBRI tag in the first frame: whether the frame is such a tag, and its frame count.
    private static func encoderSummary(_ bytes: [UInt8], frameAt start: Int, _ header: MPEGAudioHeader) -> (isInfoFrame: Bool, frames: Int?) {
        var reader = ByteReader(bytes, format: .mp3, from: start, to: start + header.frameLength)
        // The Xing tag sits right after the side information, whose size depends on version and channels.
        let sideInfo = header.version == 1 ? (header.isMono ? 17 : 32) : (header.isMono ? 9 : 17)
        if header.layer == 3, (try? reader.seek(to: start + 4 + sideInfo, "")) != nil,
           reader.peekMatches(Array("Xing".utf8)) || reader.peekMatches(Array("Info".utf8)) {
            guard (try? reader.skip(4, "")) != nil, let flags = try? reader.u32be(""), flags & 1 != 0 else { return (true, nil) }
            return (true, try? reader.u32be(""))
        }
        // Fraunhofer's VBRI tag is always 32 bytes after the header: tag, version, delay, quality, bytes, frames.
        if (try? reader.seek(to: start + 36, "")) != nil, reader.peekMatches(Array("VBRI".utf8)) {
            guard (try? reader.skip(14, "")) != nil, let count = try? reader.u32be("") else { return (true, nil) }
            return (true, count)
        }
        return (false, nil)
    }

    // MARK: Ogg

    /// The codec of an Ogg stream's first packet, with what turning granule positions into seconds needs.
    private enum OggCodec {
        /// Vorbis: granules count samples at the stream's rate.
        case vorbis(sampleRate: Int)
        /// Opus: granules count 48 kHz samples, the first `preSkip` of which are discarded (RFC 7845 §4.2).
        case opus(preSkip: Int)
    }

    /// Walks every Ogg page (RFC 3533), checking CRCs and sequence, and times the stream from its last granule position.
    static func ogg(_ bytes: [UInt8]) throws(MediaError) -> MediaInfo {
        var reader = ByteReader(bytes, format: .ogg)
        var serial = 0
        var expectedSequence = 0
        var codec: OggCodec = .opus(preSkip: 0)
        var lastGranule: UInt64 = 0
        var pages = 0
        var ended = false
        while !reader.isAtEnd {
            let pageStart = reader.offset
            guard reader.peekMatches(oggPageMagic) else {
                throw .malformed(.ogg, "The Ogg data is damaged: byte \(pageStart) does not start a page.")
            }
            try reader.skip(4, "a page header")
            guard try reader.u8("a page header") == 0 else {
                throw .unsupported(.ogg, "The Ogg file uses an unknown page format version.")
            }
            let flags = try reader.u8("a page header")
            let granule = try reader.u64le("a page header")
            let pageSerial = try reader.u32le("a page header")
            let sequence = try reader.u32le("a page header")
            let storedCRC = try reader.u32le("a page header")
            let table = try reader.read(Int(try reader.u8("a page header")), "a page's segment table")
            let bodyStart = reader.offset
            try reader.skip(table.reduce(0) { $0 + Int($1) }, "a page's data")
            guard flags & 0xF8 == 0 else { throw .malformed(.ogg, "Page \(pages) of the Ogg file has invalid header flags.") }
            guard Checksum.ogg(bytes, pageStart..<reader.offset, zeroing: pageStart + 22..<pageStart + 26) == UInt32(storedCRC) else {
                throw .malformed(.ogg, "Page \(pages) of the Ogg file is corrupt: its CRC does not match its contents.")
            }
            let beginsStream = flags & 0x02 != 0
            if pages == 0 {
                guard beginsStream else { throw .malformed(.ogg, "The Ogg file does not start with a beginning-of-stream page.") }
                (serial, expectedSequence) = (pageSerial, sequence)
                // Vorbis I §4.2.1 and RFC 7845 §3: the identification header is a whole packet on the first page.
                guard let last = table.firstIndex(where: { $0 < 255 }) else {
                    throw .malformed(.ogg, "The Ogg file's first packet does not fit on its first page.")
                }
                codec = try oggCodec(bytes, from: bodyStart, length: table[...last].reduce(0) { $0 + Int($1) })
            } else {
                guard pageSerial == serial, !beginsStream else {
                    throw .unsupported(.ogg, "The Ogg file holds more than one stream (for example video, or several chained recordings); upload a single audio stream.")
                }
                guard !ended else { throw .malformed(.ogg, "The Ogg file continues after its end-of-stream page.") }
            }
            guard sequence == expectedSequence else {
                throw .malformed(.ogg, "The Ogg file has a missing or out-of-order page (page \(pages) is numbered \(sequence), expected \(expectedSequence)).")
            }
            expectedSequence = (sequence + 1) & 0xFFFF_FFFF
            // A granule position of −1 marks a page on which no packet ends (RFC 3533 §6).
            if granule != UInt64.max {
                guard granule >= lastGranule, granule <= UInt64(Int64.max) else {
                    throw .malformed(.ogg, "The Ogg file's timestamps (granule positions) go backwards or are invalid at page \(pages).")
                }
                lastGranule = granule
            }
            ended = ended || flags & 0x04 != 0
            pages += 1
        }
        guard ended else { throw .truncated(.ogg, "its stream, which has no end-of-stream page") }
        let seconds: Double
        switch codec {
        case .vorbis(let sampleRate):
            seconds = Double(lastGranule) / Double(sampleRate)
        case .opus(let preSkip):
            guard lastGranule >= UInt64(preSkip) else {
                throw .malformed(.ogg, "The Opus stream ends before its own pre-skip; it holds no audio.")
            }
            seconds = Double(lastGranule - UInt64(preSkip)) / 48_000
        }
        guard seconds > 0 else { throw .malformed(.ogg, "The Ogg file contains no audio.") }
        return MediaInfo(format: .ogg, seconds: seconds)
    }

    /// Identifies the first packet as Vorbis (Vorbis I §4.2.2) or Opus (RFC 7845 §5.1) and checks its fields.
    private static func oggCodec(_ bytes: [UInt8], from start: Int, length: Int) throws(MediaError) -> OggCodec {
        var packet = ByteReader(bytes, format: .ogg, from: start, to: start + length)
        if packet.peekMatches([0x01] + Array("vorbis".utf8)) {
            guard length >= 30 else { throw .malformed(.ogg, "The Vorbis identification header is too short.") }
            try packet.skip(7, "the Vorbis identification header")
            let version = try packet.u32le("the Vorbis identification header")
            let channels = try packet.u8("the Vorbis identification header")
            let sampleRate = try packet.u32le("the Vorbis identification header")
            try packet.skip(12, "the Vorbis identification header")
            let blockSizes = try packet.u8("the Vorbis identification header")
            let framing = try packet.u8("the Vorbis identification header")
            // §4.2.2: block sizes are powers of two from 64 to 8192, the first no larger than the second.
            let small = Int(blockSizes & 0xF), large = Int(blockSizes >> 4)
            guard version == 0, channels > 0, sampleRate > 0, (6...13).contains(small), (small...13).contains(large), framing & 1 == 1 else {
                throw .malformed(.ogg, "The Vorbis identification header is invalid.")
            }
            return .vorbis(sampleRate: sampleRate)
        }
        if packet.peekMatches(Array("OpusHead".utf8)) {
            guard length >= 19 else { throw .malformed(.ogg, "The Opus identification header is too short.") }
            try packet.skip(8, "the Opus identification header")
            let version = try packet.u8("the Opus identification header")
            let channels = try packet.u8("the Opus identification header")
            let preSkip = try packet.u16le("the Opus identification header")
            // RFC 7845 §5.1: a major version (upper nibble) other than 0 is an incompatible format.
            guard version & 0xF0 == 0 else { throw .unsupported(.ogg, "The Opus stream uses an unknown, incompatible header version.") }
            guard channels > 0 else { throw .malformed(.ogg, "The Opus identification header declares no channels.") }
            return .opus(preSkip: preSkip)
        }
        let codecs: [(magic: [UInt8], name: String)] = [
            ([0x7F] + Array("FLAC".utf8), "FLAC"), (Array("Speex   ".utf8), "Speex"),
            ([0x80] + Array("theora".utf8), "Theora video"), (Array("fishead\u{0}".utf8), "Ogg Skeleton"),
        ]
        let name = codecs.first { packet.peekMatches($0.magic) }?.name ?? "an unknown codec"
        throw .unsupported(.ogg, "The Ogg file carries \(name); only Vorbis and Opus audio are accepted.")
    }
}
