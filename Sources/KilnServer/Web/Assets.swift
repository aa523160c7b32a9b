// The stylesheet and script the pages load, served from memory so the binary is the whole site.
import Foundation
import HTTPTypes
import Hummingbird

/// Static assets; the text lives in Assets+CSS.swift and Assets+JS.swift (the site), Assets+LedgerCSS.swift and
/// Assets+LedgerJS.swift (the ledger explorer and its in-browser verifier).
enum Assets {
    /// A cacheable response holding `text`.
    static func response(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "public, max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
