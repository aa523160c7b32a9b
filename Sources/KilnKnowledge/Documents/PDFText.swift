// PDF text through poppler's `pdftotext` (Debian's poppler-utils, installed by scripts/setup): a PDF's text layout is
// a program of its own, and poppler has read it correctly for twenty years. The file goes through a private temporary
// folder and the tool runs with a time limit, so a hostile PDF costs at most that.
import Foundation

/// Runs pdftotext on PDF bytes.
enum PDFText {
    /// The longest a single PDF may take to read.
    static let timeLimit: TimeInterval = 60

    /// The pdftotext on PATH (or the Debian location).
    static var tool: URL? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init) + ["/usr/bin"]
        return paths.lazy.map { URL(fileURLWithPath: $0).appendingPathComponent("pdftotext") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// The text of the PDF in `data`, pages separated by form feeds.
    static func extract(_ data: Data) throws(DocumentError) -> String {
        guard data.starts(with: Array("%PDF-".utf8)) else { throw .unreadablePDF("it does not start with %PDF-") }
        guard let tool else { throw .unreadablePDF("pdftotext is not installed (Debian package poppler-utils)") }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-pdf-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw .unreadablePDF("no temporary folder: \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = folder.appendingPathComponent("in.pdf"), output = folder.appendingPathComponent("out.txt")
        let process = Process()
        process.executableURL = tool
        process.arguments = ["-enc", "UTF-8", "-q", input.path, output.path]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do {
            try data.write(to: input)
            try process.run()
        } catch {
            throw .unreadablePDF("pdftotext did not start: \(error.localizedDescription)")
        }
        let deadline = Date().addingTimeInterval(timeLimit)
        while process.isRunning {
            if Date() > deadline {
                process.terminate()
                process.waitUntilExit()
                throw .unreadablePDF("pdftotext took longer than \(Int(timeLimit)) s")
            }
            usleep(5_000)
        }
        guard process.terminationStatus == 0, let bytes = try? Data(contentsOf: output) else {
            throw .unreadablePDF("pdftotext exited with status \(process.terminationStatus)")
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
