// Escaped HTML building blocks and the page layout every web page shares.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData

/// A fragment of HTML whose text parts have been escaped.
struct HTML: Sendable, ExpressibleByStringInterpolation {
    /// The markup.
    var markup: String

    init(_ markup: String) { self.markup = markup }
    init(stringLiteral value: String) { markup = value }
    init(stringInterpolation: Interpolation) { markup = stringInterpolation.markup }

    /// Interpolation escapes strings and numbers and inserts nested `HTML` as is.
    struct Interpolation: StringInterpolationProtocol {
        var markup = ""
        init(literalCapacity: Int, interpolationCount: Int) { markup.reserveCapacity(literalCapacity * 2) }
        mutating func appendLiteral(_ literal: String) { markup += literal }
        mutating func appendInterpolation(_ text: String) { markup += HTML.escape(text) }
        mutating func appendInterpolation(_ text: String?) { markup += HTML.escape(text ?? "") }
        mutating func appendInterpolation(_ number: Int) { markup += String(number) }
        mutating func appendInterpolation(_ html: HTML) { markup += html.markup }
        mutating func appendInterpolation(_ parts: [HTML]) { markup += parts.map(\.markup).joined() }
    }

    /// Escapes the five characters that matter in text and attribute values.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }
}

/// Renders whole pages around their content.
enum Layout {
    /// A full page for the caller in `context`.
    static func render(_ title: String, _ context: KilnContext, status: HTTPResponse.Status = .ok, _ content: HTML) -> Response {
        render(title: title, user: context.credential?.user, csrf: context.credential?.csrf, status: status, content)
    }

    /// A full HTML document with the site's header, navigation and footer.
    static func render(title: String, user: User?, csrf: String?, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:],
                       _ content: HTML) -> Response {
        let nav: HTML = user.map { user in
            """
            <a href="/me/submissions">My submissions</a>
            <a class="who" id="nav-user" href="/account" title="Your account">\(user.username)</a>
            <form method="post" action="/logout" class="inline"><input type="hidden" name="csrf" value="\(csrf)"><button class="link" id="logout">Sign out</button></form>
            """
        } ?? """
            <a href="/login" id="nav-login">Sign in</a> <a href="/register" class="button small primary" id="nav-register">Sign up</a>
            """
        let page: HTML = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · Kiln</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/static/kiln.css">
            <meta name="csrf-token" content="\(csrf)"></head>
            <body><header class="top"><div class="bar"><a href="/" class="brand"><span class="logo" aria-hidden="true"></span>Kiln</a>
            <nav class="primary"><a href="/">Datanets</a> <a href="/models" id="nav-models">Models</a> <a href="/runs" id="nav-runs">Runs</a> <a href="/chat" id="nav-chat">Chat</a> <a href="/knowledge" id="nav-knowledge">Knowledge</a> <a href="/leaderboard">Leaderboard</a> <a href="/ledger" id="nav-ledger">Ledger</a></nav><nav class="account">\(nav)</nav></div></header>
            <main>\(content)</main>
            <footer><div class="bar">Kiln — an open data and model foundry. Contributions are checked, reviewed and frozen into hashed versions.</div></footer><script src="/static/kiln.js"></script></body></html>
            """
        var headers = headers
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.contentSecurityPolicy] = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: page.markup)))
    }
}

/// The page shown for errors on web routes.
enum WebErrorPage {
    /// The error as a page with the same status the API would give.
    static func response(_ error: DataError, status: HTTPResponse.Status, context: KilnContext, headers: HTTPFields) -> Response {
        Layout.render(title: "Error", user: context.credential?.user, csrf: context.credential?.csrf, status: status, headers: headers, """
            <section class="card narrow error-page"><p class="eyebrow">Error \(status.code)</p><h1>\(status.reasonPhrase)</h1><p class="lead">\(error.message)</p>
            \(status.code == 401 ? HTML("<p><a class=\"button\" href=\"/login\">Sign in</a></p>") : HTML(""))<p><a href="/">← Back to the Datanets</a></p></section>
            """)
    }
}
