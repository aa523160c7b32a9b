// Media sniffing and header validation, on files built byte by byte so every expected value comes from the construction.
import Foundation
import Testing
@testable import KilnData

// MARK: - Byte helpers

private typealias Build = MediaFixtures
private func be32(_ value: Int) -> [UInt8] { MediaFixtures.be32(value) }
private func le16(_ value: Int) -> [UInt8] { MediaFixtures.le16(value) }
private func le32(_ value: Int) -> [UInt8] { MediaFixtures.le32(value) }
private func ascii(_ text: String) -> [UInt8] { MediaFixtures.ascii(text) }
private func zeros(_ count: Int) -> [UInt8] { MediaFixtures.zeros(count) }

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

    // The samples end in structure their format requires, so no shorter prefix is itself a complete file
    // (an MP3 ending in an optional ID3v1 tag would be complete without it, so the samples carry none).
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
        let info = try MediaInspector.inspect(Build.mp3(frames: 3, infoTag: false, id3v2: false))
        #expect(info == MediaInfo(format: .mp3, seconds: 3.0 * 1152 / 44_100))
    }

    @Test("Trailing ID3v1 and APEv2 tags are not mistaken for MP3 frames")
    func mp3TrailingTags() throws {
        let expected = MediaInfo(format: .mp3, seconds: 4.0 * 1152 / 44_100)
        #expect(try MediaInspector.inspect(Build.mp3(frames: 4, id3v1: true)) == expected)
        let apeItems = le32(5) + le32(0) + ascii("Title") + [0] + ascii("Kiln!")
        let apeFooter = ascii("APETAGEX") + le32(2000) + le32(apeItems.count + 32) + le32(1) + le32(0) + zeros(8)
        #expect(try MediaInspector.inspect(Build.mp3(frames: 4) + apeItems + apeFooter) == expected)
        #expect(inspectionError(Build.mp3(frames: 4) + [0x54, 0x41, 0x47, 0x00])?.format == .mp3)  // "TAG" not 128 bytes from the end
    }

    @Test("An MP3 whose Info tag announces more frames than are present is truncated")
    func mp3MissingFrames() {
        guard case .truncated(.mp3, _) = inspectionError(Build.mp3(frames: 10, declaredFrames: 11)) else {
            Issue.record("expected truncated MP3"); return
        }
    }

    @Test("A single MPEG frame is too little to be accepted as an MP3")
    func mp3SingleFrame() {
        #expect(inspectionError(Build.mp3(frames: 1, infoTag: false, id3v2: false))?.format == .mp3)
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
