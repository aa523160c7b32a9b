// Errors from the storage layer.
import Foundation

/// What went wrong opening, migrating or writing storage.
public enum StoreError: Error, Equatable, CustomStringConvertible {
    /// `KILN_DATABASE_URL` could not be parsed as a PostgreSQL URL.
    case badDatabaseURL(String)
    /// The database holds migrations this build does not know (it was written by a newer Kiln).
    case newerSchema(found: Int, known: Int)
    /// A blob's bytes do not hash to the name they are stored under.
    case corruptBlob(sha256: String)
    /// A blob was asked for that is not stored.
    case missingBlob(sha256: String)
    /// A blob key is not 64 lowercase hex digits.
    case badBlobKey(String)

    /// A sentence for logs and the CLI.
    public var description: String {
        switch self {
        case .badDatabaseURL(let url):
            return "KILN_DATABASE_URL is not a valid postgres:// URL: \(url.replacingOccurrences(of: #":[^:@/]*@"#, with: ":***@", options: .regularExpression))"
        case .newerSchema(let found, let known):
            return "The database has schema version \(found) but this build of Kiln knows only up to \(known); upgrade Kiln."
        case .corruptBlob(let sha):
            return "Blob \(sha) does not match its SHA-256; the blob folder is damaged."
        case .missingBlob(let sha):
            return "Blob \(sha) is not in the blob store."
        case .badBlobKey(let key):
            return "\(key) is not a SHA-256 hex digest."
        }
    }
}
