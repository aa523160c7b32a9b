// Turns uploaded text files and request bodies into text items, keeping unreadable content as evidence.
import Foundation

/// Reads `.txt` and `.jsonl` content for text Datanets.
public enum TextFile {
    /// The most items one JSONL body or file may hold.
    public static let maxBatchItems = 1000

    /// Decodes bytes as UTF-8, replacing invalid sequences; the flag says whether any were replaced.
    public static func decodeUTF8(_ bytes: some Collection<UInt8>) -> (text: String, repaired: Bool) {
        if let text = String(validating: bytes, as: UTF8.self) { return (text, false) }
        return (String(decoding: bytes, as: UTF8.self), true)
    }

    /// Items from a JSONL request body: one object per non-empty line in the Datanet's schema.
    /// - Throws: `DataError.badRequest` naming the first line that is not such an object (the request is malformed).
    public static func jsonLines(_ body: some BidirectionalCollection<UInt8>, schema: TextSchema) throws -> [IncomingItem] {
        var items: [IncomingItem] = []
        for (number, line) in body.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.last == UInt8(ascii: "\r") ? line.dropLast() : line[...]
            if trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
            let (text, repaired) = decodeUTF8(trimmed)
            do {
                let item = try TextItem.decode(Array(text.utf8), schema: schema)
                items.append(.text(item, format: "jsonl", repairedUTF8: repaired))
            } catch let error as DataError {
                throw DataError.badRequest(code: error.code, message: "Line \(number + 1): \(error.message)")
            }
            if items.count > maxBatchItems {
                throw DataError.tooLarge(limit: maxBatchItems, message: "A batch holds at most \(maxBatchItems) items.")
            }
        }
        guard !items.isEmpty else { throw DataError.invalid("The JSONL body holds no items.") }
        return items
    }

    /// Items from an uploaded file: a `.jsonl` file yields one item per line, anything else that is
    /// text one plain item. Content that cannot be read becomes an item rejected with its reason.
    /// - Parameter budget: how many more items the request may hold; lines are counted against it before any is decoded.
    /// - Throws: `DataError.tooLarge` when the file holds more items than `budget`.
    public static func items(fromFile bytes: Data, datanet: Datanet, budget: Int = maxBatchItems) throws -> [IncomingItem] {
        let rules = datanet.rules
        if bytes.contains(0) {
            let described = MediaError.describeUnknown(Array(bytes.prefix(64)))
            return [.unreadableText(raw: String(decoding: bytes.prefix(4096), as: UTF8.self), format: "unknown",
                                    code: "unrecognised_format", reason: "The file is \(described), not text.")]
        }
        let (text, repaired) = decodeUTF8(bytes)
        let lines = text.split(whereSeparator: \.isNewline).filter { !$0.allSatisfy(\.isWhitespace) }
        let looksJSONL = !lines.isEmpty && lines.allSatisfy { $0.first == "{" && $0.last == "}" }
        if looksJSONL {
            guard rules.formats.contains("jsonl") else {
                return [.unreadableText(raw: text, format: "jsonl", code: "format_not_allowed",
                                        reason: "The file is JSON Lines; this Datanet accepts \(rules.formats.joined(separator: ", ")).")]
            }
            guard lines.count <= budget else {
                throw DataError.tooLarge(limit: maxBatchItems, message: "A request holds at most \(maxBatchItems) items; this file alone has \(lines.count) lines.")
            }
            return lines.map { line in
                do {
                    let item = try TextItem.decode(Array(line.utf8), schema: datanet.schema)
                    return .text(item, format: "jsonl", repairedUTF8: repaired)
                } catch let error as DataError {
                    return .unreadableText(raw: String(line), format: "jsonl", code: "schema_invalid", reason: error.message)
                } catch {
                    return .unreadableText(raw: String(line), format: "jsonl", code: "schema_invalid", reason: "\(error)")
                }
            }
        }
        guard rules.formats.contains("txt") else {
            return [.unreadableText(raw: text, format: "txt", code: "format_not_allowed",
                                    reason: "The file is plain text; this Datanet accepts \(rules.formats.joined(separator: ", ")).")]
        }
        guard datanet.schema == .plain else {
            return [.unreadableText(raw: text, format: "txt", code: "schema_invalid",
                                    reason: "Plain text fits only plain Datanets; this one needs \(datanet.schema.rawValue) items as JSON Lines.")]
        }
        return [.text(.plain(text: text), format: "txt", repairedUTF8: repaired)]
    }
}
