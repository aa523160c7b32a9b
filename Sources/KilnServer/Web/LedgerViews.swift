// View pieces the ledger pages share: kind tags, human summaries, hash rows, proofs and the in-browser verifier.
import Foundation
import KilnData
import KilnLedger

/// Reusable HTML for the ledger explorer, entry and receipt pages.
enum LedgerViews {
    /// The payload members that hold user ids; the pages put names to them.
    static let userKeys = ["contributor_id", "curator_id", "creator_id", "publisher_id"]

    /// Every user id named in the payloads of `entries`, for one batched name lookup.
    static func userIds(_ entries: [SignedEntry]) -> Set<Int> {
        Set(entries.flatMap { entry in userKeys.compactMap { entry.payload[$0]?.intValue } })
    }

    /// A coloured tag for an entry's kind (`submission.accepted` …), unknown kinds plain.
    static func kindTag(_ kind: String) -> HTML {
        let tone: String
        switch kind {
        case LedgerEntry.Kind.submissionAccepted: tone = " ledger-ok"
        case LedgerEntry.Kind.submissionRejected, LedgerEntry.Kind.submissionsRejected: tone = " ledger-bad"
        case LedgerEntry.Kind.versionPublished: tone = " ledger-info"
        case LedgerEntry.Kind.datanetCreated: tone = " ledger-accent"
        default: tone = ""
        }
        return "<span class=\"tag ledger-kind\(tone)\">\(kind)</span>"
    }

    /// One sentence saying what the entry records, e.g. "bob's item #12 accepted in baking-notes".
    static func summary(_ entry: SignedEntry, names: [Int: String]) -> String {
        let payload = entry.payload
        let datanet = payload["datanet"]?.stringValue ?? "an unknown Datanet"
        /// The person behind a payload id: their username, or "user 7" when the account is gone.
        func person(_ key: String) -> String {
            guard let id = payload[key]?.intValue else { return "someone" }
            return names[id] ?? "user \(id)"
        }
        let item = payload["submission_id"]?.intValue.map { "#\($0)" } ?? "?"
        switch entry.kind {
        case LedgerEntry.Kind.submissionAccepted:
            return "\(person("contributor_id"))'s item \(item) accepted in \(datanet)"
        case LedgerEntry.Kind.submissionRejected:
            // A rejection commits to its contributor by hash (`contributor_commitment`) and never names them.
            return "Item \(item) rejected in \(datanet) by a curator"
        case LedgerEntry.Kind.submissionsRejected:
            let count = payload["items"]?.arrayValue?.count ?? 0
            return "\(Format.plural(count, "item")) of one upload rejected in \(datanet) by the automatic checks"
        case LedgerEntry.Kind.versionPublished:
            let number = payload["version"]?.intValue.map(String.init) ?? "?"
            let root = payload["merkle_root"]?.stringValue.map { " (root \(Format.shortHash($0)))" } ?? ""
            return "Version \(number) of \(datanet) published\(root)"
        case LedgerEntry.Kind.datanetCreated:
            return "Datanet \(payload["slug"]?.stringValue ?? "?") created by \(person("creator_id"))"
        default:
            return entry.kind
        }
    }

    /// Where a reader can see what the entry is about, and (for submissions and versions) its receipt.
    static func subjectLinks(_ entry: SignedEntry) -> [HTML] {
        let payload = entry.payload
        var links: [HTML] = []
        if let slug = payload["datanet"]?.stringValue ?? payload["slug"]?.stringValue {
            links.append("<a href=\"/datanets/\(slug)\">Datanet \(slug)</a>")
        }
        if let id = payload["submission_id"]?.intValue {
            links.append("<a href=\"/ledger/receipts/submission/\(id)\" id=\"receipt-link\">Receipt for item #\(id)</a>")
        }
        // An entry for a request's automatic rejections is every listed item's receipt; the first few are linked.
        for item in (payload["items"]?.arrayValue ?? []).prefix(5) {
            if let id = item["submission_id"]?.intValue {
                links.append("<a href=\"/ledger/receipts/submission/\(id)\">Receipt for item #\(id)</a>")
            }
        }
        if let slug = payload["datanet"]?.stringValue, let number = payload["version"]?.intValue {
            links.append("<a href=\"/datanets/\(slug)/versions/\(number)\">Version \(number)</a>")
            links.append("<a href=\"/ledger/receipts/version/\(slug)/\(number)\" id=\"receipt-link\">Receipt for version \(number)</a>")
        }
        return links
    }

    /// HTML fragments joined by `separator` (markup, not text).
    static func joined(_ parts: [HTML], separator: HTML) -> HTML {
        HTML(parts.map(\.markup).joined(separator: separator.markup))
    }

    /// A payload value as text: strings as they are, anything else as its canonical JSON.
    static func value(_ json: CanonicalJSON) -> String {
        json.stringValue ?? json.canonicalString
    }

    /// A labelled row of a `dl.fields` list; `id` lets tests and links find it.
    static func field(_ label: String, _ value: HTML, id: String? = nil) -> HTML {
        "<div\(id.map { HTML(" id=\"field-\($0)\"") } ?? "")><dt>\(label)</dt><dd>\(value)</dd></div>"
    }

    /// A full hash in a copyable code block.
    static func hash(_ hex: String, id: String? = nil) -> HTML {
        "<code class=\"hash full\"\(id.map { HTML(" id=\"\($0)\"") } ?? "")>\(hex)</code>"
    }

    /// An RFC 9162 inclusion proof: leaf hash, the audit path from the leaf up, and the root it leads to.
    static func proof(_ proof: InclusionProof) -> HTML {
        let steps: [HTML] = proof.auditPath.enumerated().map { index, sibling in
            "<li><span class=\"muted\">level \(index + 1)</span> <code class=\"hash\">\(sibling)</code></li>"
        }
        let path: HTML = steps.isEmpty
            ? "<p class=\"muted\">Empty: this entry is the whole tree, so its leaf hash is the root.</p>"
            : "<ol class=\"audit-path\" id=\"audit-path\">\(steps)</ol>"
        return """
            <dl class="fields">
            \(field("Leaf index", "\(proof.seq)"))\(field("Tree size", "\(Format.count(proof.treeSize))"))
            \(field("Leaf hash", hash(proof.leafHash, id: "leaf-hash")))
            \(field("Audit path", path))
            \(field("Root", hash(proof.root, id: "proof-root")))
            </dl>
            """
    }

    /// The signed tree head's fields.
    static func treeHead(_ head: SignedTreeHead) -> HTML {
        """
        <dl class="fields">
        \(field("Tree size", "\(Format.plural(head.treeSize, "entry", "entries"))"))
        \(field("Signed at", "\(ISO8601.string(milliseconds: head.timestamp)) <span class=\"muted\">(\(head.timestamp) ms)</span>"))
        \(field("Root", hash(head.root, id: "head-root")))
        \(field("Signature", hash(head.signature)))
        </dl>
        """
    }

    /// The "Verify in this browser" panel; kiln.js fills in the steps and the verdict.
    ///
    /// - Parameters:
    ///   - seq: for an entry page, the entry to fetch with its proof in the latest tree head.
    ///   - receiptURL: for a receipt page, the API route that serves the receipt.
    static func verifyPanel(seq: Int? = nil, receiptURL: String? = nil) -> HTML {
        let source: HTML = receiptURL.map { "data-verify=\"receipt\" data-receipt-url=\"\($0)\"" }
            ?? "data-verify=\"entry\" data-seq=\"\(seq ?? 0)\""
        return """
            <section class="card verify" id="verify" \(source)>
            <div class="verify-head"><div><h2>Verify in this browser</h2>
            <p class="muted">Your browser fetches the entry, its proof, the signed tree head and the node key from the API and checks them
            itself with WebCrypto (SHA-256 and Ed25519), so the result does not depend on trusting this page.</p></div>
            <button type="button" class="button primary" id="verify-button">Verify in this browser</button></div>
            <ol class="checks verify-steps" id="verify-steps" aria-live="polite"></ol>
            <p class="verify-result" id="verify-result" role="status" hidden></p>
            </section>
            """
    }
}
