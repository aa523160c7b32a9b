// Bounds-checked reading of untrusted upload bytes, and the checksums the media formats embed.
import Foundation

/// A cursor over hostile bytes: every read is bounds-checked and throws `.truncated` instead of trapping.
///
/// Offsets are absolute positions in `bytes`, so a reader limited to one chunk (`end`) and the
/// reader of the whole file agree on where things are.
struct ByteReader {
    /// The whole input.
    let bytes: [UInt8]
    /// The format being decoded, named in the errors this reader throws.
    let format: MediaFormat
    /// The next byte to read.
    private(set) var offset: Int
    /// One past the last byte this reader may touch.
    let end: Int

    /// A reader over `bytes[start..<end]`, with both bounds clamped into the array.
    init(_ bytes: [UInt8], format: MediaFormat, from start: Int = 0, to end: Int? = nil) {
        let limit = Swift.min(Swift.max(end ?? bytes.count, 0), bytes.count)
        self.bytes = bytes
        self.format = format
        self.end = limit
        self.offset = Swift.min(Swift.max(start, 0), limit)
    }

    /// Bytes left before `end`.
    var remaining: Int { end - offset }

    /// Whether every byte up to `end` has been consumed.
    var isAtEnd: Bool { offset >= end }

    /// Throws unless `count` more bytes can be read; `what` names the structure for the error.
    func require(_ count: Int, _ what: String) throws(MediaError) {
        guard count >= 0, count <= remaining else { throw .truncated(format, what) }
    }

    /// Reads one byte.
    mutating func u8(_ what: String) throws(MediaError) -> UInt8 {
        try require(1, what)
        defer { offset += 1 }
        return bytes[offset]
    }

    /// Reads an unsigned big-endian integer of `width` bytes (at most 8).
    mutating func bigEndian(_ width: Int, _ what: String) throws(MediaError) -> UInt64 {
        try require(width, what)
        var value: UInt64 = 0
        for index in offset..<offset + width { value = value << 8 | UInt64(bytes[index]) }
        offset += width
        return value
    }

    /// Reads an unsigned little-endian integer of `width` bytes (at most 8).
    mutating func littleEndian(_ width: Int, _ what: String) throws(MediaError) -> UInt64 {
        try require(width, what)
        var value: UInt64 = 0
        for index in (offset..<offset + width).reversed() { value = value << 8 | UInt64(bytes[index]) }
        offset += width
        return value
    }

    // Results are Ints so sizes compare directly with offsets. `Int(clamping:)` keeps this trap-free even
    // where Int is 32 bits: an oversized value saturates and then fails the next bounds check.

    /// Reads a big-endian 16-bit integer.
    mutating func u16be(_ what: String) throws(MediaError) -> Int { Int(clamping: try bigEndian(2, what)) }
    /// Reads a big-endian 24-bit integer.
    mutating func u24be(_ what: String) throws(MediaError) -> Int { Int(clamping: try bigEndian(3, what)) }
    /// Reads a big-endian 32-bit integer.
    mutating func u32be(_ what: String) throws(MediaError) -> Int { Int(clamping: try bigEndian(4, what)) }
    /// Reads a little-endian 16-bit integer.
    mutating func u16le(_ what: String) throws(MediaError) -> Int { Int(clamping: try littleEndian(2, what)) }
    /// Reads a little-endian 24-bit integer.
    mutating func u24le(_ what: String) throws(MediaError) -> Int { Int(clamping: try littleEndian(3, what)) }
    /// Reads a little-endian 32-bit integer.
    mutating func u32le(_ what: String) throws(MediaError) -> Int { Int(clamping: try littleEndian(4, what)) }
    /// Reads a little-endian 64-bit integer.
    mutating func u64le(_ what: String) throws(MediaError) -> UInt64 { try littleEndian(8, what) }

    /// Reads `count` bytes as a slice sharing the input's storage.
    mutating func read(_ count: Int, _ what: String) throws(MediaError) -> ArraySlice<UInt8> {
        try require(count, what)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }

    /// Reads four bytes as a chunk tag such as `IHDR` or `fmt `; non-ASCII bytes become U+FFFD.
    mutating func fourCC(_ what: String) throws(MediaError) -> String {
        String(decoding: try read(4, what), as: UTF8.self)
    }

    /// Advances past `count` bytes.
    mutating func skip(_ count: Int, _ what: String) throws(MediaError) {
        try require(count, what)
        offset += count
    }

    /// Moves to an absolute position between the reader's start and `end`.
    mutating func seek(to position: Int, _ what: String) throws(MediaError) {
        guard position >= 0, position <= end else { throw .truncated(format, what) }
        offset = position
    }

    /// The byte `distance` past the cursor, or nil beyond `end`.
    func peek(_ distance: Int = 0) -> UInt8? {
        guard distance >= 0, distance < remaining else { return nil }
        return bytes[offset + distance]
    }

    /// Whether the bytes at the cursor spell `magic` (compared as ASCII/Latin-1 bytes), without consuming them.
    func peekMatches(_ magic: [UInt8]) -> Bool {
        magic.count <= remaining && bytes[offset..<offset + magic.count].elementsEqual(magic)
    }
}

extension [UInt8] {
    /// Whether `magic` occurs at `offset`; false whenever it would run past the end.
    func hasBytes(_ magic: [UInt8], at offset: Int) -> Bool {
        offset >= 0 && magic.count <= count - offset && self[offset..<offset + magic.count].elementsEqual(magic)
    }
}

/// The cyclic redundancy checks that PNG, Ogg and FLAC embed, table-driven.
enum Checksum {
    /// Reflected CRC-32 (polynomial 0xEDB88320), the one zlib and PNG use (PNG spec §5.5).
    static let crc32Table: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index)
        for _ in 0..<8 { crc = crc & 1 != 0 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        return crc
    }

    /// Non-reflected CRC-32 with polynomial 0x04C11DB7 (RFC 3533 §6).
    static let oggTable: [UInt32] = (0..<256).map { index in
        var crc = UInt32(index) << 24
        for _ in 0..<8 { crc = crc & 0x8000_0000 != 0 ? (crc << 1) ^ 0x04C1_1DB7 : crc << 1 }
        return crc
    }

    /// CRC-8 with polynomial 0x07, guarding FLAC frame headers (RFC 9639 §9.1.8).
    static let crc8Table: [UInt8] = (0..<256).map { index in
        var crc = UInt8(index)
        for _ in 0..<8 { crc = crc & 0x80 != 0 ? (crc << 1) ^ 0x07 : crc << 1 }
        return crc
    }

    /// CRC-16 with polynomial 0x8005, guarding whole FLAC frames (RFC 9639 §9.3).
    static let crc16Table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x8005 : crc << 1 }
        return crc
    }

    /// The PNG/zlib CRC-32 of `bytes[range]`.
    static func crc32(_ bytes: [UInt8], _ range: Range<Int>) -> UInt32 {
        let range = range.clamped(to: 0..<bytes.count)
        return crc32Table.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { input in
                var crc: UInt32 = 0xFFFF_FFFF
                for index in range { crc = table[Int((crc ^ UInt32(input[index])) & 0xFF)] ^ (crc >> 8) }
                return crc ^ 0xFFFF_FFFF
            }
        }
    }

    /// The Ogg page CRC of `bytes[range]` (init 0, no final XOR), reading the four bytes at `zeroed` as zero
    /// because a page's checksum is computed with its own CRC field cleared (RFC 3533 §6).
    static func ogg(_ bytes: [UInt8], _ range: Range<Int>, zeroing zeroed: Range<Int>) -> UInt32 {
        let range = range.clamped(to: 0..<bytes.count)
        return oggTable.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { input in
                var crc: UInt32 = 0
                for index in range {
                    let byte = zeroed.contains(index) ? 0 : UInt32(input[index])
                    crc = (crc << 8) ^ table[Int(((crc >> 24) ^ byte) & 0xFF)]
                }
                return crc
            }
        }
    }

    /// The FLAC frame-header CRC-8 of `bytes[range]`.
    static func crc8(_ bytes: [UInt8], _ range: Range<Int>) -> UInt8 {
        let range = range.clamped(to: 0..<bytes.count)
        var crc: UInt8 = 0
        for index in range { crc = crc8Table[Int(crc ^ bytes[index])] }
        return crc
    }

    /// The FLAC frame CRC-16 of `bytes[range]`.
    static func crc16(_ bytes: [UInt8], _ range: Range<Int>) -> UInt16 {
        let range = range.clamped(to: 0..<bytes.count)
        return crc16Table.withUnsafeBufferPointer { table in
            bytes.withUnsafeBufferPointer { input in
                var crc: UInt16 = 0
                for index in range { crc = (crc << 8) ^ table[Int(UInt8(crc >> 8) ^ input[index])] }
                return crc
            }
        }
    }
}
