// Media sniffing and header validation, on files built byte by byte so every expected value comes from the construction.
import Foundation
import Testing
@testable import KilnData

// MARK: - Byte helpers

private func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
private func be24(_ value: Int) -> [UInt8] { [UInt8(value >> 16 & 0xFF)] + be16(value) }
private func be32(_ value: Int) -> [UInt8] { be16(value >> 16) + be16(value) }
private func be64(_ value: UInt64) -> [UInt8] { be32(Int(value >> 32)) + be32(Int(value & 0xFFFF_FFFF)) }
private func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
private func le24(_ value: Int) -> [UInt8] { le16(value) + [UInt8(value >> 16 & 0xFF)] }
private func le32(_ value: Int) -> [UInt8] { le16(value) + le16(value >> 16) }
private func le64(_ value: UInt64) -> [UInt8] { le32(Int(value & 0xFFFF_FFFF)) + le32(Int(value >> 32)) }
private func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }
private func zeros(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) }

/// Returns the error `inspect` throws, or nil when the bytes are accepted.
private func inspectionError(_ bytes: [UInt8]) -> MediaError? {
    do {
        _ = try MediaInspector.inspect(bytes)
        return nil
    } catch {
        return error
    }
}

/// A deterministic generator so fuzzing failures reproduce (Steele, Lea & Flood, "SplitMix", 2014).
private struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}

// MARK: - Sample builders

/// Minimal but complete media files, each built to a known size or duration.
private enum Build {
    static func pngChunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = ascii(type) + data
        return be32(data.count) + body + be32(Int(Checksum.crc32(body, 0..<body.count)))
    }

    /// A zlib stream of stored (uncompressed) deflate blocks (RFC 1950, RFC 1951 §3.2.4).
    static func zlibStored(_ raw: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var start = 0
        repeat {
            let count = min(65_535, raw.count - start)
            out.append(start + count == raw.count ? 1 : 0)
            out += le16(count) + le16(count ^ 0xFFFF) + raw[start..<start + count]
            start += count
        } while start < raw.count
        var a = 1, b = 0
        for byte in raw { a = (a + Int(byte)) % 65_521; b = (b + a) % 65_521 }
        return out + be32(b << 16 | a)
    }

    static func png(width: Int, height: Int) -> [UInt8] {
        var raw: [UInt8] = []
        for y in 0..<height {
            raw.append(0)  // filter type None
            for x in 0..<width { raw += [UInt8(x * 40 & 0xFF), UInt8(y * 60 & 0xFF), 0x80] }
        }
        let idat = zlibStored(raw)
        let half = idat.count / 2
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
            + pngChunk("IHDR", be32(width) + be32(height) + [8, 2, 0, 0, 0])
            + pngChunk("tEXt", ascii("Software\u{0}kiln tests"))
            + pngChunk("IDAT", Array(idat[..<half])) + pngChunk("IDAT", Array(idat[half...]))
            + pngChunk("IEND", [])
    }

    /// A baseline greyscale JPEG whose Huffman tables hold one 1-bit code each, so every 8×8 block is "DC 0, EOB".
    static func jpeg(width: Int, height: Int, entropy: [UInt8]? = nil) -> [UInt8] {
        let blocks = ((width + 7) / 8) * ((height + 7) / 8)
        let bits = 2 * blocks
        var scan = zeros(bits / 8)
        if bits % 8 != 0 { scan.append(UInt8(0xFF >> (bits % 8))) }  // pad the last byte with 1-bits (T.81 §F.1.2.3)
        let table = [UInt8(1)] + zeros(15) + [0]
        return [0xFF, 0xD8]
            + [0xFF, 0xE0] + be16(16) + ascii("JFIF") + [0, 1, 1, 0] + be16(1) + be16(1) + [0, 0]
            + [0xFF, 0xDB] + be16(67) + [0] + [UInt8](repeating: 1, count: 64)
            + [0xFF, 0xC0] + be16(11) + [8] + be16(height) + be16(width) + [1, 1, 0x11, 0]
            + [0xFF, 0xC4] + be16(20) + [0x00] + table
            + [0xFF, 0xC4] + be16(20) + [0x10] + table
            + [0xFF, 0xDA] + be16(8) + [1, 1, 0x00, 0, 63, 0]
            + (entropy ?? scan) + [0xFF, 0xD9]
    }

    static func riff(_ form: String, _ chunks: [UInt8]) -> [UInt8] {
        ascii("RIFF") + le32(4 + chunks.count) + ascii(form) + chunks
    }

    static func riffChunk(_ tag: String, _ data: [UInt8]) -> [UInt8] {
        ascii(tag) + le32(data.count) + data + (data.count % 2 == 1 ? [0] : [])
    }

    static func vp8l(width: Int, height: Int) -> [UInt8] {
        [0x2F] + le32((width - 1) | (height - 1) << 14) + [0x11, 0x22, 0x33, 0x44, 0x55]
    }

    static func webpLossless(width: Int, height: Int) -> [UInt8] {
        riff("WEBP", riffChunk("VP8L", vp8l(width: width, height: height)))
    }

    static func webpLossy(width: Int, height: Int) -> [UInt8] {
        // RFC 6386 §9.1: key frame, version 0, shown, first partition of 8 bytes.
        let frameTag = le24(8 << 5 | 1 << 4)
        return riff("WEBP", riffChunk("VP8 ", frameTag + [0x9D, 0x01, 0x2A] + le16(width) + le16(height) + zeros(8)))
    }

    static func webpExtended(width: Int, height: Int) -> [UInt8] {
        riff("WEBP", riffChunk("VP8X", [0, 0, 0, 0] + le24(width - 1) + le24(height - 1))
            + riffChunk("VP8L", vp8l(width: width, height: height)))
    }

    /// A GIF with real LZW data: literal codes only, with a clear code every two pixels so codes stay 3 bits wide.
    static func gif(width: Int, height: Int) -> [UInt8] {
        var codes: [Int] = []
        for index in 0..<(width * height) {
            if index % 2 == 0 { codes.append(4) }
            codes.append((index / width + index % width) % 4)
        }
        codes.append(5)
        var lzw: [UInt8] = []
        var accumulator = 0, filled = 0
        for code in codes {
            accumulator |= code << filled
            filled += 3
            while filled >= 8 { lzw.append(UInt8(accumulator & 0xFF)); accumulator >>= 8; filled -= 8 }
        }
        if filled > 0 { lzw.append(UInt8(accumulator & 0xFF)) }
        var blocks: [UInt8] = []
        var start = 0
        while start < lzw.count {
            let count = min(255, lzw.count - start)
            blocks += [UInt8(count)] + lzw[start..<start + count]
            start += count
        }
        return ascii("GIF89a") + le16(width) + le16(height) + [0x81, 0, 0]
            + [0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 0, 255]
            + [0x21, 0xF9, 4, 0, 0, 0, 0, 0]
            + [0x21, 0xFE, 5] + ascii("kiln!") + [0]
            + [0x2C] + le16(0) + le16(0) + le16(width) + le16(height) + [0]
            + [2] + blocks + [0] + [0x3B]
    }

    static func wav(sampleRate: Int, channels: Int, bits: Int, frames: Int, code: Int = 1, extensible: Bool = false) -> [UInt8] {
        let blockAlign = channels * (bits / 8)
        var fmt = le16(extensible ? 0xFFFE : code) + le16(channels) + le32(sampleRate) + le32(sampleRate * blockAlign)
            + le16(blockAlign) + le16(bits)
        if extensible {
            fmt += le16(22) + le16(bits) + le32(channels == 1 ? 4 : 3)
                + le16(code) + [0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71]
        }
        let data = (0..<(frames * blockAlign)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        return riff("WAVE", riffChunk("fmt ", fmt) + riffChunk("kiln", ascii("odd")) + riffChunk("data", data))
    }

    static func flacFrame(number: Int, blockSize: Int, value: Int) -> [UInt8] {
        // RFC 9639 §9.1: fixed blocking, 8 kHz (code 4), mono, 16-bit (code 4), then one CONSTANT subframe.
        var header: [UInt8] = [0xFF, 0xF8, blockSize == 4096 ? 0xC4 : 0x74, 0x08, UInt8(number)]
        if blockSize != 4096 { header += be16(blockSize - 1) }
        header.append(Checksum.crc8(header, 0..<header.count))
        let frame = header + [0x00] + be16(value)
        return frame + be16(Int(Checksum.crc16(frame, 0..<frame.count)))
    }

    /// 8 kHz mono 16-bit FLAC of `totalSamples` samples in 4096-sample frames, plus a PADDING block.
    static func flac(totalSamples: Int, declaredSamples: Int? = nil) -> [UInt8] {
        let packed = UInt64(8000) << 44 | UInt64(0) << 41 | UInt64(15) << 36 | UInt64(declaredSamples ?? totalSamples)
        let streamInfo = be16(4096) + be16(4096) + zeros(6) + be64(packed) + zeros(16)
        var out = ascii("fLaC") + [0x00] + be24(34) + streamInfo + [0x81] + be24(8) + zeros(8)
        var done = 0, number = 0
        while done < totalSamples {
            let size = min(4096, totalSamples - done)
            out += flacFrame(number: number, blockSize: size, value: 100 * number)
            done += size
            number += 1
        }
        return out
    }

    /// MPEG-1 Layer III, 128 kbit/s, 44.1 kHz stereo: 417-byte frames of 1152 samples.
    static let mp3Header: [UInt8] = [0xFF, 0xFB, 0x90, 0x00]

    static func mp3(frames: Int, infoTag: Bool = true, declaredFrames: Int? = nil, tags: Bool = true) -> [UInt8] {
        var out: [UInt8] = tags ? ascii("ID3") + [3, 0, 0] + [0, 0, 0, 20] + zeros(20) : []
        if infoTag {
            // The Xing/Info tag sits after 32 bytes of stereo MPEG-1 side information.
            let tag = ascii("Info") + be32(1) + be32(declaredFrames ?? frames)
            out += mp3Header + zeros(32) + tag + zeros(417 - 4 - 32 - tag.count)
        }
        for index in 0..<frames { out += mp3Header + [UInt8(index)] + zeros(412) }
        if tags { out += ascii("TAG") + ascii("Kiln test tone") + zeros(125 - 14) }
        return out
    }

    static func oggPage(flags: UInt8, granule: UInt64, sequence: Int, packets: [[UInt8]]) -> [UInt8] {
        var lacing: [UInt8] = []
        for packet in packets {
            lacing += [UInt8](repeating: 255, count: packet.count / 255) + [UInt8(packet.count % 255)]
        }
        var page = ascii("OggS") + [0, flags] + le64(granule) + le32(0x4B494C4E) + le32(sequence) + zeros(4)
            + [UInt8(lacing.count)] + lacing + packets.flatMap { $0 }
        let crc = Checksum.ogg(page, 0..<page.count, zeroing: 22..<26)
        page.replaceSubrange(22..<26, with: le32(Int(crc)))
        return page
    }

    static func oggVorbis(sampleRate: Int, granules: [UInt64], endOfStream: Bool = true) -> [UInt8] {
        let identification = [1] + ascii("vorbis") + le32(0) + [1] + le32(sampleRate) + zeros(12) + [0xB8, 1]
        let comment = [3] + ascii("vorbis") + le32(4) + ascii("kiln") + le32(0) + [1]
        let setup = [5] + ascii("vorbis") + [UInt8](repeating: 0x42, count: 40)
        var out = oggPage(flags: 0x02, granule: 0, sequence: 0, packets: [identification])
        out += oggPage(flags: 0, granule: 0, sequence: 1, packets: [comment, setup])
        for (index, granule) in granules.enumerated() {
            let last = index == granules.count - 1
            let packets = [[UInt8](repeating: UInt8(index * 2), count: 300), [UInt8](repeating: 0x22, count: 20)]
            out += oggPage(flags: last && endOfStream ? 0x04 : 0, granule: granule, sequence: index + 2, packets: packets)
        }
        return out
    }

    static func oggOpus(preSkip: Int, finalGranule: UInt64) -> [UInt8] {
        let head = ascii("OpusHead") + [1, 2] + le16(preSkip) + le32(48_000) + le16(0) + [0]
        let tags = ascii("OpusTags") + le32(4) + ascii("kiln") + le32(0)
        return oggPage(flags: 0x02, granule: 0, sequence: 0, packets: [head])
            + oggPage(flags: 0, granule: 0, sequence: 1, packets: [tags])
            + oggPage(flags: 0, granule: finalGranule / 2, sequence: 2, packets: [[0xFC] + zeros(60), [0xFC] + zeros(60)])
            + oggPage(flags: 0x04, granule: finalGranule, sequence: 3, packets: [[0xFC] + zeros(60)])
    }
}

/// A valid file and what inspecting it must report.
struct MediaInspectorSample: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]
    let expected: MediaInfo
    var testDescription: String { name }

    static let all: [MediaInspectorSample] = [
        MediaInspectorSample(name: "PNG 7×5", bytes: Build.png(width: 7, height: 5), expected: MediaInfo(format: .png, width: 7, height: 5)),
        MediaInspectorSample(name: "JPEG 17×9", bytes: Build.jpeg(width: 17, height: 9), expected: MediaInfo(format: .jpeg, width: 17, height: 9)),
        MediaInspectorSample(name: "WebP lossless 300×2", bytes: Build.webpLossless(width: 300, height: 2),
                    expected: MediaInfo(format: .webp, width: 300, height: 2)),
        MediaInspectorSample(name: "WebP lossy 640×480", bytes: Build.webpLossy(width: 640, height: 480),
                    expected: MediaInfo(format: .webp, width: 640, height: 480)),
        MediaInspectorSample(name: "WebP extended 5000×3", bytes: Build.webpExtended(width: 5000, height: 3),
                    expected: MediaInfo(format: .webp, width: 5000, height: 3)),
        MediaInspectorSample(name: "GIF 5×3", bytes: Build.gif(width: 5, height: 3), expected: MediaInfo(format: .gif, width: 5, height: 3)),
        MediaInspectorSample(name: "WAV 1 s 8 kHz mono 16-bit", bytes: Build.wav(sampleRate: 8000, channels: 1, bits: 16, frames: 8000),
                    expected: MediaInfo(format: .wav, seconds: 1.0)),
        MediaInspectorSample(name: "WAV 0.25 s 8 kHz stereo float (extensible)",
                    bytes: Build.wav(sampleRate: 8000, channels: 2, bits: 32, frames: 2000, code: 3, extensible: true),
                    expected: MediaInfo(format: .wav, seconds: 0.25)),
        MediaInspectorSample(name: "FLAC 1 s 8 kHz", bytes: Build.flac(totalSamples: 8000), expected: MediaInfo(format: .flac, seconds: 1.0)),
        MediaInspectorSample(name: "MP3 20 frames with ID3 and Info tags", bytes: Build.mp3(frames: 20),
                    expected: MediaInfo(format: .mp3, seconds: 20.0 * 1152 / 44_100)),
        MediaInspectorSample(name: "Ogg Vorbis 1 s 44.1 kHz", bytes: Build.oggVorbis(sampleRate: 44_100, granules: [16_384, 32_768, 44_100]),
                    expected: MediaInfo(format: .ogg, seconds: 1.0)),
        MediaInspectorSample(name: "Ogg Opus 1 s", bytes: Build.oggOpus(preSkip: 312, finalGranule: 48_312),
                    expected: MediaInfo(format: .ogg, seconds: 1.0)),
    ]
}

// MARK: - Tests

@Suite("Media sniffing and inspection")
struct MediaInspectorTests {
    @Test("Checksums match the published check values for \"123456789\"")
    func checksumCheckValues() {
        let input = ascii("123456789")
        #expect(Checksum.crc32(input, 0..<9) == 0xCBF4_3926)
        #expect(Checksum.ogg(input, 0..<9, zeroing: 0..<0) == 0x89A1_897F)
        #expect(Checksum.crc8(input, 0..<9) == 0xF4)
        #expect(Checksum.crc16(input, 0..<9) == 0xFEE8)
    }

    @Test("Every valid sample is sniffed as its format and inspected to the values it was built with", arguments: MediaInspectorSample.all)
    func validSample(_ sample: MediaInspectorSample) throws {
        #expect(MediaSniffer.sniff(sample.bytes) == sample.expected.format)
        #expect(MediaSniffer.sniff(Data(sample.bytes)) == sample.expected.format)
        let info = try MediaInspector.inspect(sample.bytes)
        #expect(info.format == sample.expected.format)
        #expect(info.width == sample.expected.width)
        #expect(info.height == sample.expected.height)
        if let expected = sample.expected.seconds {
            #expect(abs((info.seconds ?? -1) - expected) < 1e-9)
        } else {
            #expect(info.seconds == nil)
        }
        #expect(try MediaInspector.inspect(Data(sample.bytes)) == info)
    }

    @Test("A truncated copy of every sample, at every length, is rejected without crashing", arguments: MediaInspectorSample.all)
    func truncatedSample(_ sample: MediaInspectorSample) {
        let accepted = (0..<sample.bytes.count).filter { inspectionError(Array(sample.bytes[..<$0])) == nil }
        #expect(accepted.isEmpty, "prefix lengths accepted: \(accepted.prefix(10))")
    }

    @Test("Thousands of random mutations of every sample never crash or hang the inspector", arguments: MediaInspectorSample.all)
    func mutatedSample(_ sample: MediaInspectorSample) {
        var random = SplitMix64(state: 0x4B49_4C4E ^ UInt64(sample.bytes.count))
        for _ in 0..<3000 {
            var bytes = sample.bytes
            for _ in 0...Int.random(in: 0...3, using: &random) {
                // Half the edits land in the first 64 bytes, where the headers that steer parsing live.
                let span = Bool.random(using: &random) ? min(64, bytes.count) : bytes.count
                guard span > 0 else { break }
                let at = Int.random(in: 0..<span, using: &random)
                switch Int.random(in: 0..<6, using: &random) {
                case 0: bytes[at] = UInt8.random(in: 0...255, using: &random)
                case 1: bytes[at] ^= 1 << UInt8.random(in: 0...7, using: &random)
                case 2: bytes.replaceSubrange(at..<min(at + 4, bytes.count), with: [0xFF, 0xFF, 0xFF, 0xFF])
                case 3: bytes.removeSubrange(at..<min(at + Int.random(in: 1...16, using: &random), bytes.count))
                case 4: bytes.insert(contentsOf: (0..<Int.random(in: 1...16, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: at)
                default: bytes.replaceSubrange(at..<min(at + 4, bytes.count), with: [0, 0, 0, 0])
                }
            }
            if let info = try? MediaInspector.inspect(bytes) {
                #expect(info.format == sample.expected.format)
                #expect((info.width ?? 1) > 0 && (info.height ?? 1) > 0 && (info.seconds ?? 1) >= 0)
            }
        }
    }

    @Test("A ZIP archive named as a PNG sniffs as nothing and is described as a ZIP archive")
    func zipIsNotPNG() {
        let zip = ascii("PK\u{03}\u{04}") + [0x14, 0, 0, 0, 8, 0] + zeros(20) + ascii("image.png")
        #expect(MediaSniffer.sniff(zip) == nil)
        #expect(MediaError.describeUnknown(zip) == "a ZIP archive")
        #expect(inspectionError(zip) == .unrecognised("a ZIP archive"))
        #expect(inspectionError(zip)?.message.hasPrefix("The file is a ZIP archive, not a supported") == true)
    }

    @Test("Unknown bytes are described in words a contributor recognises")
    func describesImpostors() {
        #expect(MediaError.describeUnknown([]) == "empty")
        #expect(MediaError.describeUnknown(ascii("%PDF-1.7\n%\u{00E2}")) == "a PDF document")
        #expect(MediaError.describeUnknown(ascii("Hello, world.\nSecond line — ünïcode.\n")) == "plain text")
        #expect(MediaError.describeUnknown([0x00, 0x13, 0x9C, 0x01, 0xFE, 0x00, 0x07]) == "unknown binary data")
        #expect(MediaError.describeUnknown([0x1F, 0x8B, 8, 0]) == "a gzip archive")
        #expect(MediaError.describeUnknown(Build.png(width: 1, height: 1)) == "a PNG image")
    }

    @Test("MP3 is recognised by an ID3v2 tag or by a valid MPEG frame header at offset 0, and not by a bare sync")
    func sniffsMP3() {
        #expect(MediaSniffer.sniff(Build.mp3Header + zeros(8)) == .mp3)
        #expect(MediaSniffer.sniff(ascii("ID3") + [4, 0, 0, 0, 0, 1, 0]) == .mp3)
        #expect(MediaSniffer.sniff([0xFF, 0xFF, 0xFF, 0xFF]) == nil)  // bitrate index 15 is forbidden
        #expect(MediaSniffer.sniff([0xFF, 0xF1, 0x50, 0x80]) == nil)  // AAC ADTS: layer bits 00
    }

    @Test("A WAV whose header claims ten times the audio it holds is malformed, and says so")
    func lyingWAV() {
        var bytes = Build.wav(sampleRate: 8000, channels: 1, bits: 16, frames: 8000)
        let dataSizeOffset = bytes.count - 16_000 - 4
        bytes.replaceSubrange(4..<8, with: le32((bytes.count - 8) * 10))
        bytes.replaceSubrange(dataSizeOffset..<dataSizeOffset + 4, with: le32(160_000))
        let error = inspectionError(bytes)
        #expect(error == .malformed(.wav, "The WAV header claims 160000 bytes of audio data but only 16000 bytes follow."))
        #expect(error?.message == "The WAV header claims 160000 bytes of audio data but only 16000 bytes follow.")
    }

    @Test("A WAV in a compressed codec is refused as unsupported, naming the codec")
    func compressedWAV() {
        let error = inspectionError(Build.wav(sampleRate: 8000, channels: 1, bits: 16, frames: 100, code: 7))
        guard case .unsupported(.wav, let message) = error else { Issue.record("expected unsupported, got \(String(describing: error))"); return }
        #expect(message.contains("µ-law"))
    }

    @Test("A JPEG header followed by garbage instead of marker segments is malformed")
    func jpegThenGarbage() {
        let bytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10] + ascii("JFIF") + [0, 1, 1, 0, 0, 1, 0, 1, 0, 0]
            + [UInt8](repeating: 0x13, count: 64)
        #expect(MediaSniffer.sniff(bytes) == .jpeg)
        guard case .malformed(.jpeg, _) = inspectionError(bytes) else { Issue.record("expected malformed JPEG"); return }
    }

    @Test("JPEG entropy data may hold stuffed 0xFF bytes and restart markers before EOI")
    func jpegStuffing() throws {
        let bytes = Build.jpeg(width: 8, height: 8, entropy: [0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xFF, 0xD1, 0x00])
        #expect(try MediaInspector.inspect(bytes) == MediaInfo(format: .jpeg, width: 8, height: 8))
    }

    @Test("A PNG with bytes after IEND, or with a damaged chunk, is malformed")
    func pngDamage() {
        let png = Build.png(width: 2, height: 2)
        guard case .malformed(.png, let trailing) = inspectionError(png + [0x00]) else { Issue.record("trailing byte accepted"); return }
        #expect(trailing.contains("after its end"))
        var flipped = png
        flipped[45] ^= 0x01  // inside the tEXt chunk's data, so only its CRC can notice
        guard case .malformed(.png, let crc) = inspectionError(flipped) else { Issue.record("bad CRC accepted"); return }
        #expect(crc.contains("CRC"))
    }

    @Test("A PNG with a zero width or an impossible bit depth is malformed")
    func pngHeaderRules() {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let tail = Build.pngChunk("IDAT", Build.zlibStored([0, 0, 0, 0])) + Build.pngChunk("IEND", [])
        let zeroWidth = signature + Build.pngChunk("IHDR", be32(0) + be32(1) + [8, 2, 0, 0, 0]) + tail
        let badDepth = signature + Build.pngChunk("IHDR", be32(1) + be32(1) + [4, 2, 0, 0, 0]) + tail
        #expect(inspectionError(zeroWidth)?.format == .png)
        #expect(inspectionError(badDepth)?.format == .png)
        #expect(inspectionError(signature + Build.pngChunk("IHDR", be32(1) + be32(1) + [8, 0, 0, 0, 0]) + tail) == nil)
    }

    @Test("A FLAC whose STREAMINFO gives 0 total samples is malformed for its unknown length")
    func flacUnknownLength() {
        guard case .malformed(.flac, let message) = inspectionError(Build.flac(totalSamples: 8000, declaredSamples: 0)) else {
            Issue.record("expected malformed FLAC"); return
        }
        #expect(message.contains("unknown length"))
    }

    @Test("A FLAC that stops after a whole frame, short of STREAMINFO's sample count, is truncated")
    func flacMissingFrame() {
        let bytes = Build.flac(totalSamples: 8000, declaredSamples: 12_000)
        guard case .truncated(.flac, _) = inspectionError(bytes) else { Issue.record("expected truncated FLAC"); return }
    }

    @Test("An MP3 without tags is timed by summing its frames")
    func mp3WithoutTags() throws {
        let info = try MediaInspector.inspect(Build.mp3(frames: 3, infoTag: false, tags: false))
        #expect(info == MediaInfo(format: .mp3, seconds: 3.0 * 1152 / 44_100))
    }

    @Test("An MP3 whose Info tag announces more frames than are present is truncated")
    func mp3MissingFrames() {
        guard case .truncated(.mp3, _) = inspectionError(Build.mp3(frames: 10, declaredFrames: 11)) else {
            Issue.record("expected truncated MP3"); return
        }
    }

    @Test("A single MPEG frame is too little to be accepted as an MP3")
    func mp3SingleFrame() {
        #expect(inspectionError(Build.mp3(frames: 1, infoTag: false, tags: false))?.format == .mp3)
    }

    @Test("An Ogg stream without an end-of-stream page is truncated, and a damaged page fails its CRC")
    func oggDamage() {
        let open = Build.oggVorbis(sampleRate: 44_100, granules: [44_100], endOfStream: false)
        guard case .truncated(.ogg, _) = inspectionError(open) else { Issue.record("expected truncated Ogg"); return }
        var damaged = Build.oggVorbis(sampleRate: 44_100, granules: [44_100])
        damaged[damaged.count - 5] ^= 0x40
        guard case .malformed(.ogg, let message) = inspectionError(damaged) else { Issue.record("expected malformed Ogg"); return }
        #expect(message.contains("CRC"))
    }

    @Test("A GIF without any image is malformed")
    func gifWithoutImage() {
        let bytes = ascii("GIF89a") + le16(1) + le16(1) + [0, 0, 0] + [0x3B]
        #expect(inspectionError(bytes) == .malformed(.gif, "The GIF contains no image."))
    }

    @Test("Formats know their kind, MIME type and extension, and images report their pixel count")
    func formatProperties() {
        #expect(MediaFormat.jpeg.mimeType == "image/jpeg")
        #expect(MediaFormat.jpeg.fileExtension == "jpg")
        #expect(MediaFormat.ogg.kind == .audio)
        #expect(MediaFormat.webp.kind == .image)
        #expect(MediaFormat.allCases.allSatisfy { $0.kind.rawValue == "image" || $0.kind.rawValue == "audio" })
        #expect(MediaInfo(format: .png, width: 7, height: 5).pixels == 35)
        #expect(MediaInfo(format: .wav, seconds: 1).pixels == nil)
        #expect(MediaError.truncated(.png, "the IDAT chunk").message.contains("PNG"))
    }
}
