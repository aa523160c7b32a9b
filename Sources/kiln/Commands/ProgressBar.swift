// The CLI's progress display for uploads and exports, on standard error so stdout stays clean for pipes.
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Counts items and bytes and shows them: a bar redrawn in place on a terminal, a plain line now and then otherwise.
///
/// Safe to call from any task: uploads report bytes from the body stream while the command loop completes items.
final class ProgressBar: Sendable {
    /// What has been counted so far and when it was last shown.
    private struct State {
        var items = 0
        var bytes = 0
        var lastShown: ContinuousClock.Instant?
        var barVisible = false
        var finished = false
    }

    /// The word before the bar ("upload", "export").
    let label: String
    /// The items expected; 0 when unknown.
    let totalItems: Int
    /// The bytes expected; 0 when unknown.
    let totalBytes: Int
    /// Whether standard error is a terminal, so the bar can be redrawn with `\r`.
    let isTerminal: Bool
    /// The least time between two redraws (terminal) or two plain lines (pipes, logs).
    let interval: Duration
    private let state = Mutex(State())

    /// Makes a bar for `totalItems` items of `totalBytes` bytes in all.
    ///
    /// - Parameters:
    ///   - isTerminal: `nil` asks whether standard error is a terminal.
    init(label: String, totalItems: Int, totalBytes: Int, isTerminal: Bool? = nil) {
        self.label = label
        self.totalItems = totalItems
        self.totalBytes = totalBytes
        self.isTerminal = isTerminal ?? (isatty(STDERR_FILENO) == 1)
        // A log file gets a line every few seconds instead of a redraw every tenth of one.
        interval = self.isTerminal ? .milliseconds(100) : .seconds(5)
    }

    // MARK: - API

    /// Counts `bytes` more bytes moved.
    func advance(bytes: Int) {
        update { $0.bytes += bytes }
    }

    /// Counts one more item done.
    func completeItem() {
        update { $0.items += 1 }
    }

    /// Prints `line` on standard error without garbling the bar (it is cleared first and redrawn after).
    func note(_ line: String) {
        state.withLock { state in
            var text = ""
            if state.barVisible { text += "\r\u{1B}[2K" }
            text += line + "\n"
            if state.barVisible { text += render(state) }
            write(text)
        }
    }

    /// Shows the final counts once and leaves the cursor on a fresh line.
    func finish() {
        state.withLock { state in
            guard !state.finished else { return }
            state.finished = true
            if isTerminal {
                write("\r\u{1B}[2K" + render(state) + "\n")
            } else {
                write(render(state) + "\n")
            }
            state.barVisible = false
        }
    }

    // MARK: - Internal API

    /// Applies `change`, then redraws if enough time has passed since the last time.
    private func update(_ change: (inout State) -> Void) {
        state.withLock { state in
            change(&state)
            guard !state.finished else { return }
            let now = ContinuousClock.now
            if let last = state.lastShown, now - last < interval { return }
            // A pipe's first line waits one interval, so quick transfers log only the final line.
            let first = state.lastShown == nil
            state.lastShown = now
            if isTerminal {
                write("\r\u{1B}[2K" + render(state))
                state.barVisible = true
            } else if !first {
                write(render(state) + "\n")
            }
        }
    }

    /// One line: label, bar (when the total is known), items and bytes.
    private func render(_ state: State) -> String {
        var parts = [label]
        let fraction: Double? = totalBytes > 0 ? Double(state.bytes) / Double(totalBytes)
            : totalItems > 0 ? Double(state.items) / Double(totalItems) : nil
        if let fraction {
            let clamped = min(max(fraction, 0), 1)
            let width = 24
            let filled = Int((clamped * Double(width)).rounded(.down))
            parts.append("[" + String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled) + "]")
            parts.append(String(format: "%3d%%", Int((clamped * 100).rounded(.down))))
        }
        parts.append(totalItems > 0 ? "\(state.items)/\(totalItems) items" : "\(state.items) items")
        parts.append(totalBytes > 0 ? "\(formatBytes(state.bytes))/\(formatBytes(totalBytes))" : formatBytes(state.bytes))
        return parts.joined(separator: "  ")
    }

    /// Writes straight to file descriptor 2, unbuffered, so the bar appears as it changes.
    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}

/// A byte count for people: `512 B`, `3.4 KB`, `1.2 MB` (powers of 1000, as file managers show them).
func formatBytes(_ bytes: Int) -> String {
    if bytes < 1000 { return "\(bytes) B" }
    let units = ["KB", "MB", "GB", "TB"]
    var value = Double(bytes) / 1000
    var unit = 0
    while value >= 1000, unit < units.count - 1 {
        value /= 1000
        unit += 1
    }
    return String(format: value < 10 ? "%.1f" : "%.0f", value) + " " + units[unit]
}
