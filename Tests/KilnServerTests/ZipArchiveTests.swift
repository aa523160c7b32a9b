// The adapter's .zip download: CRC-32 against the standard check value, and the archive's records where APPNOTE puts them.
import Foundation
@testable import KilnServer
import Testing

@Suite("Zip archive")
struct ZipArchiveTests {
    @Test("CRC-32 of \"123456789\" is the IEEE check value 0xCBF43926")
    func checkValue() {
        #expect(CRC32.checksum(Data("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum(Data()) == 0)
    }

    @Test("Entries are stored whole after their local headers, and the end record counts them")
    func layout() {
        var zip = ZipArchive()
        zip.add(name: "a/config.json", contents: Data("{}".utf8))
        zip.add(name: "a/w.bin", contents: Data([1, 2, 3]))
        let bytes = [UInt8](zip.finished)
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) } }
        func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
        #expect(u32(0) == 0x0403_4b50)
        #expect(u32(14) == CRC32.checksum(Data("{}".utf8)))
        #expect(String(decoding: bytes[30..<43], as: UTF8.self) == "a/config.json")
        #expect(Array(bytes[43..<45]) == Array("{}".utf8))
        let end = bytes.count - 22
        #expect(u32(end) == 0x0605_4b50)
        #expect(u16(end + 10) == 2)
        // The central directory starts where the end record says, with its own signature.
        #expect(u32(Int(u32(end + 16))) == 0x0201_4b50)
    }
}
