// Structural checks and durations for WAV and FLAC uploads; MP3 and Ogg are in StreamAudioInspector.swift.
import Foundation

/// Per-format audio parsers behind `MediaInspector`; each walks the whole file so truncation is caught.
enum AudioInspector {
    // MARK: WAV

    /// Walks the RIFF/WAVE chunks, requiring a PCM or float `fmt ` before a `data` chunk that really fits.
    static func wav(_ bytes: [UInt8]) throws(MediaError) -> MediaInfo {
        var header = ByteReader(bytes, format: .wav)
        try header.skip(4, "the RIFF header")
        let riffSize = try header.u32le("the RIFF header")
        try header.skip(4, "the RIFF header")
        guard riffSize >= 4 else {
            throw .malformed(.wav, "The WAV file's RIFF header declares an impossible size of \(riffSize) bytes.")
        }
        let riffEnd = riffSize + 8
        // Walk only what exists, so a header that lies about the audio is reported as exactly that.
        var chunks = ByteReader(bytes, format: .wav, from: 12, to: min(riffEnd, bytes.count))
        var byteRate: Int?
        var dataBytes: Int?
        // Fewer than 8 leftover bytes cannot hold a chunk; some writers leave such padding.
        while chunks.remaining >= 8 {
            let tag = try chunks.fourCC("a chunk header")
            let length = try chunks.u32le("a chunk header")
            let start = chunks.offset
            if tag == "data" {
                guard byteRate != nil else {
                    throw .malformed(.wav, "The WAV file's audio data comes before its format (fmt) chunk.")
                }
                guard dataBytes == nil else { throw .malformed(.wav, "The WAV file has two audio data chunks.") }
                guard length <= bytes.count - start else {
                    throw .malformed(.wav, "The WAV header claims \(length) bytes of audio data but only \(bytes.count - start) bytes follow.")
                }
                dataBytes = length
            } else if tag == "fmt " {
                guard byteRate == nil else { throw .malformed(.wav, "The WAV file has two format (fmt) chunks.") }
                byteRate = try waveFormat(bytes, from: start, length: length)
            }
            guard length <= chunks.remaining else {
                if length <= bytes.count - start {
                    throw .malformed(.wav, "The WAV file's \"\(tag)\" chunk runs past the end that the file's RIFF header declares.")
                }
                throw .malformed(.wav, "The WAV file's \"\(tag)\" chunk claims \(length) bytes but only \(chunks.remaining) bytes follow.")
            }
            try chunks.skip(length, "a chunk")
            // RIFF pads odd-sized chunks to an even length; writers often omit the pad after the last chunk.
            if length % 2 == 1, !chunks.isAtEnd { try chunks.skip(1, "a chunk's padding") }
        }
        guard riffEnd <= bytes.count else {
            throw .malformed(.wav, "The WAV header says the file is \(riffEnd) bytes long, but it is only \(bytes.count) bytes.")
        }
        guard let byteRate else { throw .malformed(.wav, "The WAV file has no format (fmt) chunk.") }
        guard let dataBytes else { throw .malformed(.wav, "The WAV file has no audio data (data chunk).") }
        guard dataBytes > 0 else { throw .malformed(.wav, "The WAV file contains no audio samples.") }
        return MediaInfo(format: .wav, seconds: Double(dataBytes) / Double(byteRate))
    }

    /// Checks a `fmt ` chunk (WAVEFORMATEX / WAVEFORMATEXTENSIBLE) and returns its byte rate.
    private static func waveFormat(_ bytes: [UInt8], from start: Int, length: Int) throws(MediaError) -> Int {
        guard length >= 16 else { throw .malformed(.wav, "The WAV file's format (fmt) chunk is too short.") }
        var fmt = ByteReader(bytes, format: .wav, from: start, to: start + length)
        var code = try fmt.u16le("the format chunk")
        let channels = try fmt.u16le("the format chunk")
        let sampleRate = try fmt.u32le("the format chunk")
        let byteRate = try fmt.u32le("the format chunk")
        let blockAlign = try fmt.u16le("the format chunk")
        let bits = try fmt.u16le("the format chunk")
        if code == 0xFFFE {
            // WAVE_FORMAT_EXTENSIBLE: the real format is the first two bytes of the sub-format GUID,
            // whose other 14 bytes are the fixed KSDATAFORMAT suffix.
            guard length >= 40, try fmt.u16le("the format chunk") >= 22 else {
                throw .malformed(.wav, "The WAV file's extensible format chunk is too short.")
            }
            try fmt.skip(6, "the format chunk")
            code = try fmt.u16le("the format chunk")
            let suffix: [UInt8] = [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
            guard try fmt.read(14, "the format chunk").elementsEqual(suffix) else {
                throw .unsupported(.wav, "The WAV file uses a non-standard sample format; only PCM and floating-point WAV files are accepted.")
            }
        }
        guard code == 1 || code == 3 else {
            let names: [Int: String] = [2: "Microsoft ADPCM", 6: "A-law", 7: "µ-law", 0x11: "IMA ADPCM", 0x31: "GSM 6.10", 0x55: "MP3"]
            let name = names[code].map { " (\($0))" } ?? ""
            throw .unsupported(.wav, "The WAV file uses compression format \(code)\(name); only uncompressed PCM and floating-point WAV files are accepted.")
        }
        guard channels > 0, sampleRate > 0, blockAlign > 0, bits > 0 else {
            throw .malformed(.wav, "The WAV format chunk gives \(channels) channels at \(sampleRate) Hz with \(bits)-bit samples.")
        }
        guard blockAlign == channels * ((bits + 7) / 8), code == 1 || bits == 32 || bits == 64 else {
            throw .malformed(.wav, "The WAV format chunk's block size (\(blockAlign) bytes) does not fit \(channels) channels of \(bits)-bit samples.")
        }
        let (expected, overflow) = sampleRate.multipliedReportingOverflow(by: blockAlign)
        guard !overflow, byteRate == expected else {
            throw .malformed(.wav, "The WAV header's byte rate (\(byteRate) per second) does not match its sample rate and block size.")
        }
        return byteRate
    }

    // MARK: FLAC

    /// The STREAMINFO fields the frame checks need (RFC 9639 §8.2).
    struct StreamInfo {
        /// The fixed block size of every frame but the last, in fixed-blocksize streams.
        var maxBlockSize: Int
        /// Samples per second.
        var sampleRate: Int
        /// Audio channels, 1–8.
        var channels: Int
        /// Bits per sample, 4–32.
        var bitsPerSample: Int
        /// Samples per channel in the whole stream.
        var totalSamples: UInt64
    }

    /// Walks FLAC metadata blocks, then checks the first frame and that the last frame is complete (RFC 9639).
    static func flac(_ bytes: [UInt8]) throws(MediaError) -> MediaInfo {
        var reader = ByteReader(bytes, format: .flac)
        try reader.skip(4, "the FLAC signature")
        var info: StreamInfo?
        var isLast = false
        while !isLast {
            let header = try reader.u8("a metadata block header")
            isLast = header & 0x80 != 0
            let type = header & 0x7F
            let length = try reader.u24be("a metadata block header")
            var block = ByteReader(bytes, format: .flac, from: reader.offset, to: reader.offset + length)
            try reader.skip(length, "a metadata block")
            guard type != 127 else { throw .malformed(.flac, "The FLAC file has a metadata block of the forbidden type 127.") }
            guard info == nil else {
                guard type != 0 else { throw .malformed(.flac, "The FLAC file has two STREAMINFO blocks.") }
                continue
            }
            guard type == 0, length == 34 else {
                throw .malformed(.flac, "A FLAC file must begin with a 34-byte STREAMINFO block; this one does not.")
            }
            let minBlockSize = try block.u16be("the STREAMINFO block")
            let maxBlockSize = try block.u16be("the STREAMINFO block")
            try block.skip(6, "the STREAMINFO block")
            // 20 bits sample rate, 3 bits channels−1, 5 bits bits-per-sample−1, 36 bits total samples.
            let packed = try block.bigEndian(8, "the STREAMINFO block")
            let streamInfo = StreamInfo(maxBlockSize: maxBlockSize, sampleRate: Int(packed >> 44), channels: Int((packed >> 41) & 7) + 1,
                                        bitsPerSample: Int((packed >> 36) & 0x1F) + 1, totalSamples: packed & 0xF_FFFF_FFFF)
            guard streamInfo.sampleRate > 0 else { throw .malformed(.flac, "The FLAC file's STREAMINFO gives a sample rate of 0 Hz.") }
            guard streamInfo.bitsPerSample >= 4, minBlockSize >= 16, minBlockSize <= maxBlockSize else {
                throw .malformed(.flac, "The FLAC file's STREAMINFO has invalid block sizes or bits per sample.")
            }
            guard streamInfo.totalSamples > 0 else {
                throw .malformed(.flac, "The FLAC file does not record its length (unknown length: STREAMINFO gives 0 samples); re-encode it with a standard encoder.")
            }
            info = streamInfo
        }
        guard let info else { throw .malformed(.flac, "The FLAC file has no STREAMINFO block.") }
        let audioStart = reader.offset
        let audioEnd = trailingTagsStart(bytes, notBefore: audioStart)
        guard audioStart < audioEnd else { throw .truncated(.flac, "its audio frames, which are missing") }
        guard let first = try? flacFrame(bytes, at: audioStart, end: audioEnd, info: info), first.firstSample == 0 else {
            throw .malformed(.flac, "The FLAC metadata is not followed by a valid first audio frame.")
        }
        // Frames carry no length, so completeness is proven from the end: a frame header that ends the
        // stream at STREAMINFO's sample count and whose CRC-16 covers exactly the rest of the file.
        // The largest legal frame is about 2.2 MB; the attempt cap bounds work on hostile input.
        let windowStart = max(audioStart, audioEnd - 2_400_000)
        var position = audioEnd - 8
        var attempts = 0
        while position >= windowStart, attempts < 16 {
            defer { position -= 1 }
            guard bytes[position] == 0xFF, bytes[position + 1] & 0xFE == 0xF8,
                  let frame = try? flacFrame(bytes, at: position, end: audioEnd, info: info),
                  frame.firstSample + UInt64(frame.blockSize) == info.totalSamples else { continue }
            attempts += 1
            let stored = UInt16(bytes[audioEnd - 2]) << 8 | UInt16(bytes[audioEnd - 1])
            if Checksum.crc16(bytes, position..<audioEnd - 2) == stored {
                return MediaInfo(format: .flac, seconds: Double(info.totalSamples) / Double(info.sampleRate))
            }
        }
        throw .truncated(.flac, "its audio frames: the frame that should end the stream at sample \(info.totalSamples) is missing or incomplete")
    }

    /// A decoded FLAC frame header: where its samples start and how many it holds.
    struct FLACFrame {
        /// Index of the frame's first sample in the stream.
        var firstSample: UInt64
        /// Samples per channel in the frame.
        var blockSize: Int
    }

    /// Decodes and CRC-8-checks the frame header at `start` (RFC 9639 §9.1), requiring it to agree with STREAMINFO.
    static func flacFrame(_ bytes: [UInt8], at start: Int, end: Int, info: StreamInfo) throws(MediaError) -> FLACFrame {
        let bad = MediaError.malformed(.flac, "The FLAC file has an invalid frame header.")
        var header = ByteReader(bytes, format: .flac, from: start, to: end)
        let sync = try header.u16be("a frame header")
        guard sync & 0xFFFE == 0xFFF8 else { throw bad }
        let variableBlocks = sync & 1 == 1
        let sizes = try header.u8("a frame header")
        let layout = try header.u8("a frame header")
        let blockCode = Int(sizes >> 4), rateCode = Int(sizes & 0xF)
        let channelCode = Int(layout >> 4), depthCode = Int((layout >> 1) & 7)
        guard blockCode != 0, rateCode != 15, channelCode <= 10, depthCode != 3, layout & 1 == 0 else { throw bad }
        guard (channelCode < 8 ? channelCode + 1 : 2) == info.channels else { throw bad }
        let depths = [0, 8, 12, 0, 16, 20, 24, 32]
        guard depthCode == 0 || depths[depthCode] == info.bitsPerSample else { throw bad }
        let rates = [0, 88_200, 176_400, 192_000, 8_000, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 96_000]
        guard rateCode == 0 || rateCode >= 12 || rates[rateCode] == info.sampleRate else { throw bad }
        // §9.1.5: the frame or sample number, coded like UTF-8 extended to 36 bits.
        let lead = try header.u8("a frame header")
        var number: UInt64
        let continuation: Int
        switch lead {
        case 0x00...0x7F: (number, continuation) = (UInt64(lead), 0)
        case 0xC0...0xDF: (number, continuation) = (UInt64(lead & 0x1F), 1)
        case 0xE0...0xEF: (number, continuation) = (UInt64(lead & 0x0F), 2)
        case 0xF0...0xF7: (number, continuation) = (UInt64(lead & 0x07), 3)
        case 0xF8...0xFB: (number, continuation) = (UInt64(lead & 0x03), 4)
        case 0xFC...0xFD: (number, continuation) = (UInt64(lead & 0x01), 5)
        case 0xFE: (number, continuation) = (0, 6)
        default: throw bad
        }
        for _ in 0..<continuation {
            let byte = try header.u8("a frame header")
            guard byte & 0xC0 == 0x80 else { throw bad }
            number = number << 6 | UInt64(byte & 0x3F)
        }
        let blockSize: Int
        switch blockCode {
        case 1: blockSize = 192
        case 2...5: blockSize = 144 << blockCode
        case 6: blockSize = Int(try header.u8("a frame header")) + 1
        case 7: blockSize = try header.u16be("a frame header") + 1
        default: blockSize = 1 << blockCode
        }
        switch rateCode {
        case 12: try header.skip(1, "a frame header")
        case 13, 14: try header.skip(2, "a frame header")
        default: break
        }
        let crcOffset = header.offset
        guard try header.u8("a frame header") == Checksum.crc8(bytes, start..<crcOffset), blockSize <= info.maxBlockSize else { throw bad }
        // In fixed-blocksize streams the number counts frames, each maxBlockSize samples long but the last.
        let firstSample = variableBlocks ? number : number * UInt64(info.maxBlockSize)
        return FLACFrame(firstSample: firstSample, blockSize: blockSize)
    }

    /// Where trailing ID3v1 and APEv2 tags begin, so they are not mistaken for audio; `floor` bounds the search.
    static func trailingTagsStart(_ bytes: [UInt8], notBefore floor: Int) -> Int {
        var end = bytes.count
        // ID3v1: exactly 128 bytes at the very end, starting "TAG".
        if end - floor >= 128, bytes.hasBytes(Array("TAG".utf8), at: end - 128) { end -= 128 }
        // APEv2 footer (32 bytes, "APETAGEX"): its size covers items and footer; flag bit 31 adds a 32-byte header.
        if end - floor >= 32, bytes.hasBytes(Array("APETAGEX".utf8), at: end - 32) {
            var footer = ByteReader(bytes, format: .mp3, from: end - 20, to: end)
            if let size = try? footer.u32le("an APE tag"), (try? footer.skip(4, "an APE tag")) != nil,
               let flags = try? footer.u32le("an APE tag") {
                let total = size + (flags & 0x8000_0000 != 0 ? 32 : 0)
                if total >= 32, total <= end - floor { end -= total }
            }
        }
        return end
    }
}
