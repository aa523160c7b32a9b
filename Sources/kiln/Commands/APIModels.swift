// What the CLI adds to the API's JSON shapes (defined once in KilnAPI, which the server writes with): previews and URL pieces.
// Decoding ignores keys a shape does not name, so a newer server does not break an older client.
import Foundation
import KilnAPI
import KilnData

extension DatanetBody {
    /// Whether items are files (image, audio) rather than text.
    var isMedia: Bool { kind != "text" }
}

extension SubmissionBody {
    /// A short description of what the item holds: a text preview, or the file's name and shape.
    var summary: String {
        if let content {
            let text = Self.text(of: content).replacingOccurrences(of: "\n", with: " ")
            return text.count > 60 ? String(text.prefix(59)) + "…" : text
        }
        var parts = [fileName ?? format]
        if let width, let height { parts.append("\(width)×\(height)") }
        if let seconds { parts.append(String(format: "%.1f s", seconds)) }
        return parts.joined(separator: " ")
    }

    /// The readable text of a text item in any schema, for previews.
    private static func text(of value: JSONValue) -> String {
        switch value {
        case .string(let text): return text
        case .array(let values): return values.map(text(of:)).joined(separator: " / ")
        case .object(let members):
            for key in ["text", "instruction", "messages", "content"] {
                if let member = members[key] { return text(of: member) }
            }
            return ""
        default: return ""
        }
    }
}

/// Encodes a path segment (a slug, a username) so it cannot add segments or a query to the URL.
func pathSegment(_ text: String) -> String {
    // RFC 3986 unreserved characters only; `CharacterSet.alphanumerics` would let non-ASCII letters through raw.
    let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}
