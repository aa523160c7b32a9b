// Recognising a media format from its first bytes, and dispatching to the format's inspector.
import Foundation

/// Names the media format of some bytes by their magic numbers alone; file names and declared types are never trusted.
public enum MediaSniffer {
    /// The format whose signature opens `bytes`, or nil when none of the supported ones does.
    public static func sniff(_ bytes: UnsafeRawBufferPointer) -> MediaFormat? {
        func has(_ magic: String, at offset: Int = 0) -> Bool {
            hasBytes(Array(magic.utf8), at: offset)
        }
        func hasBytes(_ magic: [UInt8], at offset: Int = 0) -> Bool {
            guard offset >= 0, magic.count <= bytes.count - offset else { return false }
            for (index, byte) in magic.enumerated() where bytes[offset + index] != byte { return false }
            return true
        }
        if hasBytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if hasBytes([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if has("GIF87a") || has("GIF89a") { return .gif }
        if has("RIFF") {
            if has("WEBP", at: 8) { return .webp }
            if has("WAVE", at: 8) { return .wav }
            return nil
        }
        if has("fLaC") { return .flac }
        if has("OggS") { return .ogg }
        if has("ID3"), bytes.count >= 10 {
            // ID3v2 §3.1: versions 2–4 exist, and the four size bytes are syncsafe (top bit clear).
            let header = (0..<10).map { bytes[$0] }
            if (2...4).contains(header[3]), header[4] != 0xFF, header[6..<10].allSatisfy({ $0 < 0x80 }) { return .mp3 }
        }
        if bytes.count >= 4, MPEGAudioHeader(bytes[0], bytes[1], bytes[2], bytes[3]) != nil { return .mp3 }
        return nil
    }

    /// The format whose signature opens `bytes`, or nil.
    public static func sniff(_ bytes: [UInt8]) -> MediaFormat? {
        bytes.withUnsafeBytes { sniff($0) }
    }

    /// The format whose signature opens `data`, or nil.
    public static func sniff(_ data: Data) -> MediaFormat? {
        data.withUnsafeBytes { sniff($0) }
    }
}

/// Validates uploads by decoding their container headers and walking their whole structure.
///
/// Nothing is decompressed; what is checked is that the file is complete and self-consistent
/// (lengths fit, checksums match, required parts are present), which is what catches truncated
/// uploads, renamed files and files whose headers lie.
public enum MediaInspector {
    /// Sniffs `bytes`, checks them as that format, and returns dimensions (images) or duration (audio).
    public static func inspect(_ bytes: [UInt8]) throws(MediaError) -> MediaInfo {
        guard let format = MediaSniffer.sniff(bytes) else {
            throw .unrecognised(MediaError.describeUnknown(bytes))
        }
        switch format {
        case .png: return try ImageInspector.png(bytes)
        case .jpeg: return try ImageInspector.jpeg(bytes)
        case .webp: return try ImageInspector.webp(bytes)
        case .gif: return try ImageInspector.gif(bytes)
        case .wav: return try AudioInspector.wav(bytes)
        case .flac: return try AudioInspector.flac(bytes)
        case .mp3: return try AudioInspector.mp3(bytes)
        case .ogg: return try AudioInspector.ogg(bytes)
        }
    }

    /// Inspects the bytes of `data`; see `inspect(_:)` for `[UInt8]`.
    public static func inspect(_ data: Data) throws(MediaError) -> MediaInfo {
        try inspect([UInt8](data))
    }
}
