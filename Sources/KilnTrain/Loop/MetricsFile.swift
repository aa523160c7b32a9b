// metrics.jsonl: one line per optimiser step and per evaluation, appended and flushed as they happen so a killed run
// keeps what it logged; a resumed run first drops the lines past the checkpoint it continues from.
import Foundation
import KilnAPI

/// An append-only JSON-lines log.
struct MetricsFile {
    private let handle: FileHandle

    /// Opens `url`, keeping only lines whose `step` is at most `keepingThrough` (all of them are dropped for a fresh run).
    /// - Throws: file-system errors.
    init(_ url: URL, keepingThrough step: Int) throws {
        var kept = ""
        if step > 0, let text = try? String(contentsOf: url, encoding: .utf8) {
            for line in text.split(separator: "\n") {
                guard case .number(let lineStep)? = JSONValue(parsing: String(line))?["step"], Int(lineStep) <= step else { continue }
                kept += line + "\n"
            }
        }
        try Data(kept.utf8).write(to: url, options: .atomic)
        handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
    }

    /// Appends one line and flushes it to the file.
    mutating func append(_ line: String) throws {
        try handle.write(contentsOf: Data((line + "\n").utf8))
        try handle.synchronize()
    }
}
