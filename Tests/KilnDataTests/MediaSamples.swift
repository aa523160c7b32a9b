// Minimal, complete media files built byte by byte for the media tests; every expected value follows from the construction.
import Foundation
import Testing
@testable import KilnData

/// Builders for valid PNG, JPEG, WebP, GIF, WAV, FLAC, MP3 and Ogg files, and the byte encoders they are made of.
enum MediaFixtures {
    static func be16(_ value: Int) -> [UInt8] { [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)] }
    static func be24(_ value: Int) -> [UInt8] { [UInt8(value >> 16 & 0xFF)] + be16(value) }
    static func be32(_ value: Int) -> [UInt8] { be16(value >> 16) + be16(value) }
    static func be64(_ value: UInt64) -> [UInt8] { be32(Int(value >> 32)) + be32(Int(value & 0xFFFF_FFFF)) }
    static func le16(_ value: Int) -> [UInt8] { [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)] }
    static func le24(_ value: Int) -> [UInt8] { le16(value) + [UInt8(value >> 16 & 0xFF)] }
    static func le32(_ value: Int) -> [UInt8] { le16(value) + le16(value >> 16) }
    static func le64(_ value: UInt64) -> [UInt8] { le32(Int(value & 0xFFFF_FFFF)) + le32(Int(value >> 32)) }
    static func ascii(_ text: String) -> [UInt8] { Array(text.utf8) }
    static func zeros(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) }

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

    static func mp3(frames: Int, infoTag: Bool = true, declaredFrames: Int? = nil, id3v2: Bool = true, id3v1: Bool = false) -> [UInt8] {
        var out: [UInt8] = id3v2 ? ascii("ID3") + [3, 0, 0] + [0, 0, 0, 20] + zeros(20) : []
        if infoTag {
            // The Xing/Info tag sits after 32 bytes of stereo MPEG-1 side information.
            let tag = ascii("Info") + be32(1) + be32(declaredFrames ?? frames)
            out += mp3Header + zeros(32) + tag + zeros(417 - 4 - 32 - tag.count)
        }
        for index in 0..<frames { out += mp3Header + [UInt8(index)] + zeros(412) }
        if id3v1 { out += ascii("TAG") + ascii("Kiln test tone") + zeros(125 - 14) }
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
        MediaInspectorSample(name: "PNG 7×5", bytes: MediaFixtures.png(width: 7, height: 5), expected: MediaInfo(format: .png, width: 7, height: 5)),
        MediaInspectorSample(name: "JPEG 17×9", bytes: MediaFixtures.jpeg(width: 17, height: 9), expected: MediaInfo(format: .jpeg, width: 17, height: 9)),
        MediaInspectorSample(name: "WebP lossless 300×2", bytes: MediaFixtures.webpLossless(width: 300, height: 2),
                    expected: MediaInfo(format: .webp, width: 300, height: 2)),
        MediaInspectorSample(name: "WebP lossy 640×480", bytes: MediaFixtures.webpLossy(width: 640, height: 480),
                    expected: MediaInfo(format: .webp, width: 640, height: 480)),
        MediaInspectorSample(name: "WebP extended 5000×3", bytes: MediaFixtures.webpExtended(width: 5000, height: 3),
                    expected: MediaInfo(format: .webp, width: 5000, height: 3)),
        MediaInspectorSample(name: "GIF 5×3", bytes: MediaFixtures.gif(width: 5, height: 3), expected: MediaInfo(format: .gif, width: 5, height: 3)),
        MediaInspectorSample(name: "WAV 1 s 8 kHz mono 16-bit", bytes: MediaFixtures.wav(sampleRate: 8000, channels: 1, bits: 16, frames: 8000),
                    expected: MediaInfo(format: .wav, seconds: 1.0)),
        MediaInspectorSample(name: "WAV 0.25 s 8 kHz stereo float (extensible)",
                    bytes: MediaFixtures.wav(sampleRate: 8000, channels: 2, bits: 32, frames: 2000, code: 3, extensible: true),
                    expected: MediaInfo(format: .wav, seconds: 0.25)),
        MediaInspectorSample(name: "FLAC 1 s 8 kHz", bytes: MediaFixtures.flac(totalSamples: 8000), expected: MediaInfo(format: .flac, seconds: 1.0)),
        MediaInspectorSample(name: "MP3 20 frames with ID3v2 and Info tags", bytes: MediaFixtures.mp3(frames: 20),
                    expected: MediaInfo(format: .mp3, seconds: 20.0 * 1152 / 44_100)),
        MediaInspectorSample(name: "Ogg Vorbis 1 s 44.1 kHz", bytes: MediaFixtures.oggVorbis(sampleRate: 44_100, granules: [16_384, 32_768, 44_100]),
                    expected: MediaInfo(format: .ogg, seconds: 1.0)),
        MediaInspectorSample(name: "Ogg Opus 1 s", bytes: MediaFixtures.oggOpus(preSkip: 312, finalGranule: 48_312),
                    expected: MediaInfo(format: .ogg, seconds: 1.0)),
    ]
}
