// A .zip writer for the adapter download: entries stored uncompressed (safetensors do not compress), each with its
// CRC-32, then the central directory, as PKWARE's APPNOTE 4.3 lays them out. Every unzip tool and Python's zipfile
// read it.
import Foundation

/// A zip archive built in memory.
struct ZipArchive {
    private var body = Data()
    private var directory = Data()
    private var count = 0

    /// Appends a file `name` holding `contents`.
    mutating func add(name: String, contents: Data) {
        let nameBytes = Data(name.utf8)
        let crc = CRC32.checksum(contents)
        let offset = UInt32(body.count)
        // Local file header: version 2.0, no flags (sizes known up front), method 0 (stored), a fixed 1980-01-01 time so
        // the same adapter always downloads as the same bytes.
        body.append(le32(0x0403_4b50)); body.append(le16(20)); body.append(le16(0x0800)); body.append(le16(0))
        body.append(le16(0)); body.append(le16(0x21))
        body.append(le32(crc)); body.append(le32(UInt32(contents.count))); body.append(le32(UInt32(contents.count)))
        body.append(le16(UInt16(nameBytes.count))); body.append(le16(0))
        body.append(nameBytes)
        body.append(contents)
        directory.append(le32(0x0201_4b50)); directory.append(le16(20)); directory.append(le16(20)); directory.append(le16(0x0800))
        directory.append(le16(0)); directory.append(le16(0)); directory.append(le16(0x21))
        directory.append(le32(crc)); directory.append(le32(UInt32(contents.count))); directory.append(le32(UInt32(contents.count)))
        directory.append(le16(UInt16(nameBytes.count))); directory.append(le16(0)); directory.append(le16(0))
        directory.append(le16(0)); directory.append(le16(0)); directory.append(le32(0o100644 << 16)); directory.append(le32(offset))
        directory.append(nameBytes)
        count += 1
    }

    /// The archive: entries, central directory and its end record.
    var finished: Data {
        var out = body
        out.append(directory)
        out.append(le32(0x0605_4b50)); out.append(le16(0)); out.append(le16(0))
        out.append(le16(UInt16(count))); out.append(le16(UInt16(count)))
        out.append(le32(UInt32(directory.count))); out.append(le32(UInt32(body.count))); out.append(le16(0))
        return out
    }

    private func le16(_ value: UInt16) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
    private func le32(_ value: UInt32) -> Data { withUnsafeBytes(of: value.littleEndian) { Data($0) } }
}

/// CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320), as zip and gzip use.
enum CRC32 {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 { value = value & 1 == 1 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
        return value
    }

    /// The checksum of `data`.
    static func checksum(_ data: Data) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        data.withUnsafeBytes { bytes in
            for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        }
        return crc ^ 0xFFFF_FFFF
    }
}
