// A multipart/form-data body with one file part, read from disk chunk by chunk as the connection takes it.
import Foundation
import NIOCore
import NIOFoundationCompat

/// One file wrapped in a multipart/form-data envelope (RFC 7578), as an async sequence of buffers.
///
/// The file is never loaded whole: each `next()` reads one chunk, so a large audio file costs one chunk of memory,
/// and `progress` hears about each chunk as it goes out, which drives the upload bar.
struct MultipartFileBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    /// The boundary between parts, also needed for the `Content-Type` header.
    let boundary: String
    /// Everything before the file's bytes: the boundary line and the part's headers.
    let head: [UInt8]
    /// Everything after: the closing boundary.
    let tail: [UInt8]
    /// The file being sent.
    let file: URL
    /// The file's size when the body was made; the upload fails if it changes underneath.
    let fileSize: Int
    /// Called with the number of file bytes in each chunk handed out.
    let progress: @Sendable (Int) -> Void

    /// The bytes read from disk per chunk.
    static let chunkSize = 256 * 1024

    /// Wraps `file` as the form field `field`.
    ///
    /// - Throws: `ClientError.file` when the file cannot be read.
    init(file: URL, field: String, progress: @escaping @Sendable (Int) -> Void) throws {
        let attributes: [FileAttributeKey: Any]
        do {
            attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        } catch {
            throw ClientError.file(path: file.path, reason: "cannot read it (\(error.localizedDescription))")
        }
        guard (attributes[.type] as? FileAttributeType) == .typeRegular else {
            throw ClientError.file(path: file.path, reason: "not a regular file")
        }
        self.file = file
        self.fileSize = (attributes[.size] as? NSNumber)?.intValue ?? 0
        self.progress = progress
        boundary = "kiln-" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        // Quotes and line breaks would end the header early, so they are replaced in the advertised name.
        let name = file.lastPathComponent.map { "\"\r\n\\".contains($0) ? "_" : $0 }
        head = Array(("--\(boundary)\r\n"
            + "Content-Disposition: form-data; name=\"\(field)\"; filename=\"\(String(name))\"\r\n"
            + "Content-Type: application/octet-stream\r\n\r\n").utf8)
        tail = Array("\r\n--\(boundary)--\r\n".utf8)
    }

    /// The whole body's length, for `Content-Length`.
    var length: Int { head.count + fileSize + tail.count }

    /// A fresh pass over the body; each opens the file anew.
    func makeAsyncIterator() -> Iterator {
        Iterator(body: self)
    }

    /// Hands out the head, then the file in chunks, then the tail.
    struct Iterator: AsyncIteratorProtocol {
        let body: MultipartFileBody
        var handle: FileHandle?
        var stage = Stage.head
        var sent = 0

        /// Where in the body the iterator is.
        enum Stage { case head, file, done }

        init(body: MultipartFileBody) {
            self.body = body
        }

        /// The next piece of the body, or `nil` after the closing boundary.
        mutating func next() async throws -> ByteBuffer? {
            switch stage {
            case .head:
                stage = .file
                do {
                    handle = try FileHandle(forReadingFrom: body.file)
                } catch {
                    throw ClientError.file(path: body.file.path, reason: "cannot open it (\(error.localizedDescription))")
                }
                return ByteBuffer(bytes: body.head)
            case .file:
                let chunk: Data
                do {
                    chunk = try handle?.read(upToCount: MultipartFileBody.chunkSize) ?? Data()
                } catch {
                    throw ClientError.file(path: body.file.path, reason: "reading failed (\(error.localizedDescription))")
                }
                if chunk.isEmpty {
                    try? handle?.close()
                    handle = nil
                    // The declared Content-Length is a promise; a file that shrank or grew would break it mid-request.
                    guard sent == body.fileSize else {
                        throw ClientError.file(path: body.file.path, reason: "the file changed size while it was being uploaded")
                    }
                    stage = .done
                    return ByteBuffer(bytes: body.tail)
                }
                sent += chunk.count
                guard sent <= body.fileSize else {
                    throw ClientError.file(path: body.file.path, reason: "the file changed size while it was being uploaded")
                }
                body.progress(chunk.count)
                return ByteBuffer(data: chunk)
            case .done:
                return nil
            }
        }
    }
}
