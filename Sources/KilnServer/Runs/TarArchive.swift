// A POSIX ustar archive of a few small files, for downloading an adapter folder as one file that `tar -xf` and
// Python's tarfile unpack. Regular files only, names under 100 bytes: what an adapter folder holds.
import Foundation

/// Builds a ustar archive in memory.
struct TarArchive {
    private(set) var data = Data()

    /// Appends `contents` as a regular file `name` (mode 0644, modified at `modified`).
    mutating func add(name: String, contents: Data, modified: Date = Date()) {
        var header = [UInt8](repeating: 0, count: 512)
        func put(_ text: String, at offset: Int, width: Int) {
            for (index, byte) in text.utf8.prefix(width).enumerated() { header[offset + index] = byte }
        }
        func octal(_ value: Int, at offset: Int, width: Int) {
            put(String(String(value, radix: 8).suffix(width - 1)).leftPadded(to: width - 1), at: offset, width: width - 1)
        }
        put(name, at: 0, width: 100)
        octal(0o644, at: 100, width: 8)
        octal(0, at: 108, width: 8)
        octal(0, at: 116, width: 8)
        octal(contents.count, at: 124, width: 12)
        octal(Int(modified.timeIntervalSince1970), at: 136, width: 12)
        header[156] = UInt8(ascii: "0")
        put("ustar", at: 257, width: 6)
        put("00", at: 263, width: 2)
        // The checksum is summed with its own field as eight spaces.
        for index in 148..<156 { header[index] = UInt8(ascii: " ") }
        let sum = header.reduce(0) { $0 + Int($1) }
        put(String(String(sum, radix: 8)).leftPadded(to: 6), at: 148, width: 6)
        header[154] = 0
        data.append(contentsOf: header)
        data.append(contents)
        let padding = (512 - contents.count % 512) % 512
        data.append(Data(count: padding))
    }

    /// The archive with its two closing zero blocks.
    var finished: Data { data + Data(count: 1024) }
}

extension String {
    /// The string with leading zeros up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
