// The media formats Kiln accepts, what inspecting one yields, and why an upload was refused.
import Foundation

/// An image or audio container format recognised by its content.
public enum MediaFormat: String, Sendable, Codable, CaseIterable {
    /// Portable Network Graphics.
    case png
    /// JPEG / JFIF / Exif.
    case jpeg
    /// WebP (lossy VP8, lossless VP8L or extended VP8X).
    case webp
    /// GIF87a / GIF89a.
    case gif
    /// RIFF WAVE with PCM or floating-point samples.
    case wav
    /// Free Lossless Audio Codec, native container.
    case flac
    /// MPEG-1/2/2.5 audio layer I, II or III.
    case mp3
    /// Ogg carrying Vorbis or Opus.
    case ogg

    /// Whether the format holds pictures or sound.
    public var kind: MediaKind {
        switch self {
        case .png, .jpeg, .webp, .gif: .image
        case .wav, .flac, .mp3, .ogg: .audio
        }
    }

    /// The IANA media type to serve the bytes with.
    public var mimeType: String {
        switch self {
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        case .webp: "image/webp"
        case .gif: "image/gif"
        case .wav: "audio/wav"
        case .flac: "audio/flac"
        case .mp3: "audio/mpeg"
        case .ogg: "audio/ogg"
        }
    }

    /// The conventional file name extension, without the dot.
    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        default: rawValue
        }
    }

    /// The name a person knows the format by, for messages.
    public var displayName: String {
        switch self {
        case .png: "PNG"
        case .jpeg: "JPEG"
        case .webp: "WebP"
        case .gif: "GIF"
        case .wav: "WAV"
        case .flac: "FLAC"
        case .mp3: "MP3"
        case .ogg: "Ogg"
        }
    }
}

/// The broad family a media format belongs to; raw values match `DatanetKind`'s.
public enum MediaKind: String, Sendable {
    /// Still or animated pictures.
    case image
    /// Recorded sound.
    case audio
}

/// What inspecting a valid file found: dimensions for images, duration for audio.
public struct MediaInfo: Sendable, Equatable {
    /// The format the bytes were decoded as.
    public var format: MediaFormat
    /// Width in pixels (images only).
    public var width: Int?
    /// Height in pixels (images only).
    public var height: Int?
    /// Playing time in seconds (audio only).
    public var seconds: Double?

    /// Creates an inspection result.
    public init(format: MediaFormat, width: Int? = nil, height: Int? = nil, seconds: Double? = nil) {
        self.format = format
        self.width = width
        self.height = height
        self.seconds = seconds
    }

    /// Width × height, or nil for audio or when the product would not fit an `Int`.
    public var pixels: Int? {
        guard let width, let height else { return nil }
        let (product, overflow) = width.multipliedReportingOverflow(by: height)
        return overflow ? nil : product
    }
}

/// Why bytes could not be accepted as media, in terms a contributor can act on.
public enum MediaError: Error, Equatable, Sendable {
    /// The bytes match no supported format; the payload says what they look like instead (see `describeUnknown`).
    case unrecognised(String)
    /// The file stops before the structure named by the payload (e.g. "the IHDR chunk") is complete.
    case truncated(MediaFormat, String)
    /// The structure is invalid; the payload is a complete sentence naming the problem.
    case malformed(MediaFormat, String)
    /// Valid, but uses a variant Kiln does not take (a codec, a compression method); the payload is a sentence.
    case unsupported(MediaFormat, String)

    /// The format the bytes were being read as, if any was recognised.
    public var format: MediaFormat? {
        switch self {
        case .unrecognised: nil
        case .truncated(let format, _), .malformed(let format, _), .unsupported(let format, _): format
        }
    }

    /// A sentence for the contributor.
    public var message: String {
        switch self {
        case .unrecognised(let description):
            let names = MediaFormat.allCases.map(\.displayName)
            return "The file is \(description), not a supported image or audio format "
                + "(\(names.dropLast().joined(separator: ", ")) or \(names.last ?? ""))."
        case .truncated(let format, let what):
            return "The \(format.displayName) file ends too soon: it is cut off in \(what). "
                + "The upload may be incomplete; please send the whole file."
        case .malformed(_, let sentence), .unsupported(_, let sentence):
            return sentence
        }
    }

    /// Names what unsupported bytes appear to be ("a ZIP archive", "plain text"), for "The file is …" sentences.
    public static func describeUnknown(_ bytes: [UInt8]) -> String {
        guard !bytes.isEmpty else { return "empty" }
        if let format = MediaSniffer.sniff(bytes) {
            return format.kind == .image ? "a \(format.displayName) image" : "a \(format.displayName) audio file"
        }
        func starts(_ magic: String, at offset: Int = 0) -> Bool {
            let magicBytes = Array(magic.utf8)
            return bytes.count >= offset + magicBytes.count && bytes[offset..<offset + magicBytes.count].elementsEqual(magicBytes)
        }
        func starts(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + magic.count && bytes[offset..<offset + magic.count].elementsEqual(magic)
        }
        // Office documents, JARs and EPUBs are ZIPs too; naming the container is the honest answer.
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) || starts([0x50, 0x4B, 0x07, 0x08]) {
            return "a ZIP archive"
        }
        if starts("%PDF-") { return "a PDF document" }
        if starts([0x1F, 0x8B]) { return "a gzip archive" }
        if starts([0x37, 0x7A, 0xBC, 0xAF, 0x27, 0x1C]) { return "a 7-Zip archive" }
        if starts("Rar!\u{1A}\u{07}") { return "a RAR archive" }
        if starts("ustar", at: 257) { return "a tar archive" }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return "a Linux program (ELF)" }
        if starts([0xCF, 0xFA, 0xED, 0xFE]) || starts([0xCE, 0xFA, 0xED, 0xFE]) || starts([0xCA, 0xFE, 0xBA, 0xBE]) {
            return "a macOS program (Mach-O)"
        }
        if starts("SQLite format 3\u{0}") { return "an SQLite database" }
        if starts("II*\u{0}") || starts("MM\u{0}*") { return "a TIFF image" }
        if starts([0x00, 0x00, 0x01, 0x00]), bytes.count >= 6, bytes[4] != 0 || bytes[5] != 0 { return "an icon (ICO) file" }
        if starts([0x00, 0x00, 0x00, 0x0C, 0x6A, 0x50, 0x20, 0x20]) { return "a JPEG 2000 image" }
        if starts([0xFF, 0x0A]) || starts([0x00, 0x00, 0x00, 0x0C, 0x4A, 0x58, 0x4C, 0x20]) { return "a JPEG XL image" }
        if starts("ftyp", at: 4), bytes.count >= 12 {
            // ISO BMFF: the major brand tells HEIF stills from MP4/QuickTime movies (ISO/IEC 14496-12 §4.3).
            let brand = String(decoding: bytes[8..<12], as: UTF8.self)
            switch brand {
            case "heic", "heix", "hevc", "heim", "heis", "mif1", "msf1": return "a HEIC image"
            case "avif", "avis": return "an AVIF image"
            case "M4A ", "M4B ", "M4P ": return "an M4A/AAC audio file"
            case "qt  ": return "a QuickTime movie"
            default: return "an MP4 video"
            }
        }
        if starts([0x1A, 0x45, 0xDF, 0xA3]) { return "a Matroska/WebM video" }
        if starts("RF64") || starts("BW64") { return "an RF64 (64-bit WAV) audio file" }
        if starts("RIFF"), bytes.count >= 12 {
            if starts("AVI ", at: 8) { return "an AVI video" }
            return "a RIFF file of an unsupported kind"
        }
        if bytes.count >= 2, bytes[0] == 0xFF, bytes[1] & 0xF6 == 0xF0 { return "an AAC audio stream" }
        // Magic numbers made only of letters could open a text file, so text is ruled out before them.
        if let text = textKind(bytes) { return text }
        if starts("MZ") { return "a Windows program" }
        if starts("BM"), bytes.count >= 26, bytes[6...9].allSatisfy({ $0 == 0 }) { return "a BMP image" }
        if starts("8BPS") { return "a Photoshop document" }
        if starts("FORM"), bytes.count >= 12, starts("AIFF", at: 8) || starts("AIFC", at: 8) { return "an AIFF audio file" }
        if starts("MThd") { return "a MIDI file" }
        if starts("#!AMR") { return "an AMR audio file" }
        if starts(".snd") { return "an AU audio file" }
        return "unknown binary data"
    }

    /// Recognises text (UTF-8 without control characters) and the markup kinds most often mistaken for images.
    private static func textKind(_ bytes: [UInt8]) -> String? {
        let sample = bytes.prefix(4096)
        var index = sample.startIndex
        if sample.starts(with: [0xEF, 0xBB, 0xBF]) { index += 3 }
        let textStart = index
        while index < sample.endIndex {
            let byte = sample[index]
            if byte < 0x80 {
                // NUL and most C0 controls never occur in text; tab, newlines and form feed do.
                if byte < 0x20 && byte != 0x09 && byte != 0x0A && byte != 0x0D && byte != 0x0C { return nil }
                if byte == 0x7F { return nil }
                index += 1
                continue
            }
            let length: Int
            switch byte {
            case 0xC2...0xDF: length = 2
            case 0xE0...0xEF: length = 3
            case 0xF0...0xF4: length = 4
            default: return nil
            }
            var next = index + 1
            while next < index + length, next < sample.endIndex {
                guard sample[next] & 0xC0 == 0x80 else { return nil }
                next += 1
            }
            // A sequence cut off by the sample's end is still text; the cut is ours, not the file's.
            index = index + length
        }
        let head = String(decoding: sample[textStart...].prefix(256), as: UTF8.self)
            .trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if head.hasPrefix("<svg") || (head.hasPrefix("<?xml") && head.contains("<svg")) { return "an SVG drawing" }
        if head.hasPrefix("<!doctype html") || head.hasPrefix("<html") { return "an HTML page" }
        if head.hasPrefix("<?xml") { return "an XML document" }
        if head.hasPrefix("{") || head.hasPrefix("[") { return "JSON text" }
        return "plain text"
    }
}
