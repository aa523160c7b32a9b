// Small real PNG and WAV files made from scratch, so the demo has media without shipping any.
import Foundation

/// Writes uncompressed-but-valid PNG images and PCM WAV recordings.
enum DemoMedia {
    /// A `width` × `height` RGB PNG filled by `pixel(x, y)`; the zlib stream uses stored blocks (RFC 1950/1951).
    static func png(width: Int, height: Int, pixel: (Int, Int) -> (UInt8, UInt8, UInt8)) -> Data {
        var raw: [UInt8] = []
        raw.reserveCapacity((width * 3 + 1) * height)
        for y in 0..<height {
            raw.append(0)  // filter type None
            for x in 0..<width {
                let (r, g, b) = pixel(x, y)
                raw += [r, g, b]
            }
        }
        var zlib: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let length = min(65_535, raw.count - offset)
            let final: UInt8 = offset + length == raw.count ? 1 : 0
            zlib.append(final)
            zlib += [UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
            zlib += raw[offset..<(offset + length)]
            offset += length
        } while offset < raw.count
        zlib += bigEndian(adler32(raw))
        var ihdr = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        ihdr += [8, 2, 0, 0, 0]
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        out += chunk("IHDR", ihdr) + chunk("IDAT", zlib) + chunk("IEND", [])
        return Data(out)
    }

    /// A mono 16-bit PCM WAV of a sine tone.
    static func wav(seconds: Double, frequency: Double, rate: Int = 8000) -> Data {
        let frames = Int(seconds * Double(rate))
        var samples: [UInt8] = []
        samples.reserveCapacity(frames * 2)
        for index in 0..<frames {
            let value = Int16(sin(2 * Double.pi * frequency * Double(index) / Double(rate)) * 8000)
            samples += [UInt8(truncatingIfNeeded: value), UInt8(truncatingIfNeeded: value >> 8)]
        }
        var out = Array("RIFF".utf8) + littleEndian(UInt32(36 + samples.count)) + Array("WAVE".utf8)
        out += Array("fmt ".utf8) + littleEndian(UInt32(16)) + [1, 0, 1, 0] + littleEndian(UInt32(rate)) + littleEndian(UInt32(rate * 2)) + [2, 0, 16, 0]
        out += Array("data".utf8) + littleEndian(UInt32(samples.count)) + samples
        return Data(out)
    }

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    private static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    private static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1
        var b: UInt32 = 0
        for byte in bytes {
            a = (a + UInt32(byte)) % 65_521
            b = (b + a) % 65_521
        }
        return b << 16 | a
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }

    private static func littleEndian(_ value: UInt32) -> [UInt8] {
        bigEndian(value).reversed()
    }
}
