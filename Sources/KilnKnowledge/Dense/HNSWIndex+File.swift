// The index on disk: a 128-byte header, then each array as it lies in memory, every section 64-byte aligned, so that
// loading maps the file and points at it (copy-on-write, private to the process) instead of reading and parsing.
// Pages come in as searches touch them; the first insert past the file's size copies the arrays out.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A whole file mapped private and writable; unmapped when released.
final class FileMapping: @unchecked Sendable {
    let base: UnsafeMutableRawPointer
    let length: Int

    init(url: URL) throws(HNSWError) {
        let fd = open(url.path, O_RDONLY)
        guard fd >= 0 else { throw .badFile("cannot open \(url.lastPathComponent)") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else { throw .badFile("\(url.lastPathComponent) is empty") }
        length = Int(info.st_size)
        guard let address = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0), address != MAP_FAILED else {
            throw .badFile("cannot map \(url.lastPathComponent)")
        }
        base = address
    }

    deinit { munmap(base, length) }
}

extension HNSWIndex {
    static let magic = Array("KILNHNSW".utf8)
    static let headerSize = 128

    /// The byte offset and length of each array for `count` nodes and `upper` pool entries, in file order.
    static func sections(count: Int, upper: Int, dimension: Int, m: Int) -> [(offset: Int, length: Int)] {
        let lengths = [count * dimension * 4, count * 8, count * 4, count, count * (2 * m + 1) * 4, count * 8, upper * 4]
        var offset = headerSize
        return lengths.map { length in
            defer { offset = (offset + length + 63) & ~63 }
            return (offset, length)
        }
    }

    /// Writes the index to `url` through a temporary file renamed into place, so a crash leaves the old file whole.
    public func save(to url: URL) throws {
        var header = [UInt8](repeating: 0, count: Self.headerSize)
        func put<T: FixedWidthInteger>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value.littleEndian) { header.replaceSubrange(offset..<(offset + $0.count), with: $0) }
        }
        header.replaceSubrange(0..<8, with: Self.magic)
        put(UInt32(1), at: 8)
        put(UInt32(dimension), at: 12)
        put(UInt32(parameters.m), at: 16)
        put(UInt32(parameters.efConstruction), at: 20)
        put(UInt32(parameters.efSearch), at: 24)
        put(entry, at: 28)
        put(maxLevel, at: 32)
        put(UInt64(count), at: 40)
        put(UInt64(upperCount), at: 48)
        put(UInt64(removedCount), at: 56)
        put(parameters.seed, at: 64)
        put(random.state, at: 72)
        let temporary = url.appendingPathExtension("partial")
        FileManager.default.createFile(atPath: temporary.path, contents: nil)
        let handle = try FileHandle(forWritingTo: temporary)
        let pointers: [UnsafeRawPointer] = [UnsafeRawPointer(vectors), UnsafeRawPointer(labels), UnsafeRawPointer(levels),
                                            UnsafeRawPointer(removed), UnsafeRawPointer(links0), UnsafeRawPointer(upperOffsets),
                                            UnsafeRawPointer(upperPool)]
        do {
            try handle.write(contentsOf: header)
            var written = Self.headerSize
            for (section, pointer) in zip(Self.sections(count: count, upper: upperCount, dimension: dimension, m: parameters.m), pointers) {
                if section.offset > written { try handle.write(contentsOf: Data(count: section.offset - written)) }
                if section.length > 0 {
                    try handle.write(contentsOf: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: pointer), count: section.length, deallocator: .none))
                }
                written = section.offset + section.length
            }
            try handle.synchronize()
            try handle.close()
        } catch {
            try? handle.close()
            try? FileManager.default.removeItem(at: temporary)
            throw error
        }
        // rename(2) replaces the old file atomically: a reader maps either the old index or the new one.
        guard rename(temporary.path, url.path) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw HNSWError.badFile("cannot move the new index into place (errno \(errno))")
        }
    }

    /// Maps an index written by `save`, checking its header, size and every link before trusting it.
    public static func load(from url: URL) throws(HNSWError) -> HNSWIndex {
        let file = try FileMapping(url: url)
        guard file.length >= headerSize, Array(UnsafeRawBufferPointer(start: file.base, count: 8)) == magic else {
            throw .badFile("not a Kiln HNSW index")
        }
        func read<T: FixedWidthInteger>(_ offset: Int, _ type: T.Type) -> T {
            T(littleEndian: file.base.loadUnaligned(fromByteOffset: offset, as: T.self))
        }
        guard read(8, UInt32.self) == 1 else { throw .badFile("unknown version \(read(8, UInt32.self))") }
        let dimension = Int(read(12, UInt32.self)), count = Int(read(40, UInt64.self)), upper = Int(read(48, UInt64.self))
        let parameters = HNSWParameters(m: Int(read(16, UInt32.self)), efConstruction: Int(read(20, UInt32.self)),
                                        efSearch: Int(read(24, UInt32.self)), seed: read(64, UInt64.self))
        guard parameters.isValid, (1...65_536).contains(dimension), count < 1 << 31, upper < 1 << 40 else {
            throw .badFile("impossible sizes in the header")
        }
        let sections = Self.sections(count: count, upper: upper, dimension: dimension, m: parameters.m)
        guard let last = sections.last, last.offset + last.length == file.length else { throw .badFile("the size does not match the header") }
        let index = try HNSWIndex(dimension: dimension, parameters: parameters)
        index.releaseArrays()
        func pointer<T>(_ section: Int, _ type: T.Type) -> UnsafeMutablePointer<T> {
            (file.base + sections[section].offset).assumingMemoryBound(to: T.self)
        }
        index.vectors = pointer(0, Float.self)
        index.labels = pointer(1, Int64.self)
        index.levels = pointer(2, Int32.self)
        index.removed = pointer(3, UInt8.self)
        index.links0 = pointer(4, Int32.self)
        index.upperOffsets = pointer(5, Int64.self)
        index.upperPool = pointer(6, Int32.self)
        index.mapping = file
        index.count = count
        index.capacity = count
        index.upperCount = upper
        index.upperCapacity = upper
        index.entry = read(28, Int32.self)
        index.maxLevel = read(32, Int32.self)
        index.random = SplitMix64(seed: read(72, UInt64.self))
        index.locks.deallocate()
        index.locks = .allocate(capacity: max(count, 1))
        index.locks.initialize(repeating: 0, count: max(count, 1))
        try index.validateLoaded()
        return index
    }

    /// Rebuilds the label map and checks that every level, offset and link stays inside the arrays.
    func validateLoaded() throws(HNSWError) {
        guard count == 0 ? entry == -1 : (0..<Int32(count)).contains(entry) && maxLevel == levels[Int(entry)] else {
            throw .badFile("the entry point is out of range")
        }
        var removedSeen = 0
        slotOfLabel.reserveCapacity(count)
        for slot in 0..<count {
            let level = Int(levels[slot]), offset = Int(upperOffsets[slot])
            guard (0...30).contains(level), level <= maxLevel, offset >= 0, offset + level * (maxM + 1) <= upperCount else {
                throw .badFile("node \(slot) has an impossible level or offset")
            }
            for layer in 0...level {
                let list = links(Int32(slot), layer)
                let n = Int(list[0])
                guard (0...(layer == 0 ? maxM0 : maxM)).contains(n) else { throw .badFile("node \(slot) has \(n) links") }
                for j in 0..<n where !(0..<Int32(count)).contains(list[1 + j]) || levels[Int(list[1 + j])] < layer {
                    throw .badFile("node \(slot) links outside the graph")
                }
            }
            if removed[slot] != 0 {
                removedSeen += 1
            } else {
                slotOfLabel[labels[slot]] = Int32(slot)
            }
        }
        removedCount = removedSeen
    }
}
