// The multipart parser's work does not depend on how the body is chunked, and hostile bodies are refused early or
// parsed in linear time. Timings are ratios measured in one run (thread CPU time), never absolute figures.
import Foundation
@testable import KilnServer
import KilnData
import Testing

@Suite("Multipart reader")
struct MultipartReaderTests {
    static let boundary = "kiln-test-boundary-0123456789"

    /// A body with one file part holding `content`.
    static func body(_ content: [UInt8]) -> [UInt8] {
        Array("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n".utf8)
            + content + Array("\r\n--\(boundary)--\r\n".utf8)
    }

    /// Bytes from a fixed xorshift stream: every byte value, CRs included, with no structure.
    static func noise(_ count: Int) -> [UInt8] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state)
        }
    }

    /// CPU seconds of this thread spent parsing `body` fed in `chunk`-byte pieces (best of `repeats`), and the parts.
    static func parse(_ body: [UInt8], chunk: Int, partLimit: Int, repeats: Int = 2) throws -> (Double, [FormPart]) {
        var best = Double.infinity
        var parts: [FormPart] = []
        for _ in 0..<repeats {
            let start = threadCPUTime()
            var reader = MultipartReader(boundary: boundary, partLimit: partLimit, maxParts: 10)
            var offset = 0
            while offset < body.count {
                let end = min(body.count, offset + chunk)
                try reader.append(body[offset..<end])
                offset = end
            }
            #expect(reader.isComplete)
            best = min(best, threadCPUTime() - start)
            parts = reader.parts
        }
        return (best, parts)
    }

    static func threadCPUTime() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }

    @Test("A 64 MiB body in 512-byte chunks costs at most 3× the CPU of 64 KiB chunks, and both give the same part")
    func chunkingDoesNotMatter() throws {
        let block = Self.noise(64 << 10)
        var content: [UInt8] = []
        content.reserveCapacity(64 << 20)
        for _ in 0..<1024 { content += block }
        let body = Self.body(content)
        let (large, largeParts) = try Self.parse(body, chunk: 64 << 10, partLimit: 80 << 20)
        let (small, smallParts) = try Self.parse(body, chunk: 512, partLimit: 80 << 20)
        #expect(largeParts.count == 1 && smallParts.count == 1)
        #expect(smallParts.first?.data == Data(content))
        #expect(largeParts.first?.data == smallParts.first?.data)
        print("multipart 64 MiB: 512-byte chunks \(small) s, 64 KiB chunks \(large) s, ratio \(small / large)")
        #expect(small <= 3 * large, "512-byte chunks took \(small / large)× the CPU of 64 KiB chunks")
    }

    @Test("Boundary-like runs are parsed in linear time: twice the bytes cost at most 2.6× the CPU")
    func boundaryLikeRunsAreLinear() throws {
        // Every run matches all of the delimiter but its last byte, the worst case for a naive search.
        let run = Array("\r\n--\(Self.boundary.dropLast())".utf8)
        func content(_ bytes: Int) -> [UInt8] { Array((0..<(bytes / run.count)).flatMap { _ in run }) }
        // Sizes of a few hundred milliseconds of work and the best of three runs, so timer and scheduling noise stays small.
        let (one, parts) = try Self.parse(Self.body(content(4 << 20)), chunk: 512, partLimit: 80 << 20, repeats: 3)
        let (two, _) = try Self.parse(Self.body(content(8 << 20)), chunk: 512, partLimit: 80 << 20, repeats: 3)
        #expect(parts.first?.data.count == (4 << 20) / run.count * run.count)
        print("boundary-like runs: 4 MiB \(one) s, 8 MiB \(two) s, ratio \(two / one)")
        #expect(two <= 2.6 * one, "doubling the body cost \(two / one)× the CPU")
    }

    @Test("Endless whitespace after a boundary is refused after 1 KiB, not read to the end")
    func endlessWhitespaceIsRefused() throws {
        var reader = MultipartReader(boundary: Self.boundary, partLimit: 1 << 20, maxParts: 10)
        let start = Array("--\(Self.boundary)".utf8)
        try reader.append(start)
        let spaces = [UInt8](repeating: 0x20, count: 512)
        var refusedAfter: Int?
        for index in 1...32_768 {  // up to 16 MiB
            do {
                try reader.append(spaces)
            } catch let error as DataError {
                #expect(error.code == "invalid_multipart")
                refusedAfter = index * 512
                break
            }
        }
        #expect(refusedAfter == 1536)
    }

    @Test("Whitespace after a boundary (RFC 2046 transport padding) and split CRLFs are accepted in any chunking")
    func paddingAndSplits() throws {
        let body = Array("preamble\r\n--\(Self.boundary)  \t\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfirst\r\n--\(Self.boundary)\r\n\r\n".utf8)
        // The second part has no headers at all and must be refused for lacking a name.
        for chunk in [1, 2, 3, 7, 64] {
            var reader = MultipartReader(boundary: Self.boundary, partLimit: 1 << 20, maxParts: 10)
            var refused = false
            var offset = 0
            while offset < body.count {
                do { try reader.append(body[offset..<min(body.count, offset + chunk)]) } catch { refused = true; break }
                offset += chunk
            }
            #expect(refused, "chunk \(chunk)")
            #expect(reader.parts.map(\.name) == ["a"] && reader.parts.first?.data == Data("first".utf8), "chunk \(chunk)")
        }
    }
}
