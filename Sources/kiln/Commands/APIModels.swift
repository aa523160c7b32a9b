// The API's JSON shapes as the CLI reads them (see Sources/KilnServer/API/Representations.swift for the writer's side).
// Keys the CLI does not use are left out; unknown keys are ignored so a newer server does not break an older client.
import Foundation
import KilnAPI
import KilnData

/// A page of a list: `{"items":[…],"next":cursor|null}`.
struct PageInfo<Item: Decodable & Sendable>: Decodable, Sendable {
    var items: [Item]
    /// The cursor for the next page; `nil` on the last one.
    var next: String?
}

/// `POST /api/auth/login`'s answer.
struct LoginInfo: Decodable, Sendable {
    var token: String
    var user: UserInfo
}

/// A user.
struct UserInfo: Decodable, Sendable {
    var id: Int
    var username: String
    var isAdmin: Bool

    enum CodingKeys: String, CodingKey {
        case id, username
        case isAdmin = "is_admin"
    }
}

/// A Datanet, with counts and curators when the server includes them.
struct DatanetInfo: Decodable, Sendable {
    var slug: String
    var title: String
    var description: String
    var kind: String
    var schema: String
    var license: String
    var rules: RulesBody
    var counts: Counts?
    var curators: [String]?

    /// Items by status, contributors and published versions.
    struct Counts: Decodable, Sendable {
        var accepted: Int
        var pending: Int
        var rejected: Int
        var contributors: Int
        var versions: Int
    }

    /// Whether items are files (image, audio) rather than text.
    var isMedia: Bool { kind != "text" }
}

/// A submission and the outcome of its checks.
struct SubmissionInfo: Decodable, Sendable {
    var id: Int
    var datanet: String
    var contributor: String
    var status: String
    var stage: String?
    var reason: String?
    var reasonCode: String?
    var sha256: String
    var bytes: Int
    var format: String
    var fileName: String?
    var width: Int?
    var height: Int?
    var seconds: Double?
    var chars: Int?
    var content: JSONValue?
    var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, datanet, contributor, status, stage, reason, sha256, bytes, format, width, height, seconds, chars, content
        case reasonCode = "reason_code"
        case fileName = "file_name"
        case createdAt = "created_at"
    }

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

/// A leaderboard row.
struct StandingInfo: Decodable, Sendable {
    var rank: Int
    var username: String
    var accepted: Int
    var acceptedBytes: Int

    enum CodingKeys: String, CodingKey {
        case rank, username, accepted
        case acceptedBytes = "accepted_bytes"
    }
}

/// A published version, with its manifest when the route includes one.
struct VersionInfo: Decodable, Sendable {
    var datanet: String
    var version: Int
    var merkleRoot: String
    var count: Int
    var trainCount: Int
    var validationCount: Int
    var bytes: Int
    var createdBy: String
    var createdAt: String
    var items: [Item]?

    /// One manifest entry, in manifest order.
    struct Item: Decodable, Sendable {
        var position: Int
        var id: Int
        var sha256: String
        var split: String
        var contributor: String
        var format: String
        var bytes: Int
    }

    enum CodingKeys: String, CodingKey {
        case datanet, version, count, bytes, items
        case merkleRoot = "merkle_root"
        case trainCount = "train_count"
        case validationCount = "validation_count"
        case createdBy = "created_by"
        case createdAt = "created_at"
    }
}

/// Encodes a path segment (a slug, a username) so it cannot add segments or a query to the URL.
func pathSegment(_ text: String) -> String {
    // RFC 3986 unreserved characters only; `CharacterSet.alphanumerics` would let non-ASCII letters through raw.
    let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}
