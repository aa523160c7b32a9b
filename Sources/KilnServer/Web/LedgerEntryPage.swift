// One ledger entry: every field, its canonical JSON, hash and signature, its inclusion proof, and the in-browser verifier.
import Foundation
import Hummingbird
import KilnData
import KilnLedger

extension WebController {
    /// `/ledger/entries/{seq}`.
    @Sendable func ledgerEntryPage(_ request: Request, context: KilnContext) async throws -> Response {
        let seq = try context.numberParameter("seq")
        guard let entry = try await services.ledger.entries(from: seq, limit: 1).first, entry.seq == seq,
              let head = try await services.ledger.head() else {
            throw DataError.notFound("There is no ledger entry \(seq).")
        }
        let proof = try await services.ledger.inclusion(seq: seq, treeSize: head.treeSize)
        let names = try await services.ledger.usernames(ids: LedgerViews.userIds([entry]))
        // Re-serialising the parsed entry gives the stored bytes exactly: the store only accepts canonical bytes.
        let canonical = try entry.entry().json.canonicalString
        return Layout.render("Ledger entry \(seq)", context,
                           LedgerEntryViews.page(entry, canonical: canonical, proof: proof, head: head, names: names))
    }
}

/// The entry page.
enum LedgerEntryViews {
    /// Facts on the left column, proof and verifier below, like a version page.
    static func page(_ entry: SignedEntry, canonical: String, proof: InclusionProof, head: SignedTreeHead, names: [Int: String]) -> HTML {
        let links = LedgerViews.subjectLinks(entry)
        let previous: HTML = entry.seq > 0
            ? "<a href=\"/ledger/entries/\(entry.seq - 1)\" id=\"prev-entry\"><code class=\"hash full\">\(entry.prevHash)</code></a>"
            : "\(LedgerViews.hash(entry.prevHash)) <span class=\"hint\">64 zeros: the first entry has no predecessor.</span>"
        let newer: HTML = entry.seq + 1 < head.treeSize ? "<a class=\"button\" href=\"/ledger/entries/\(entry.seq + 1)\">Next entry →</a>" : ""
        let older: HTML = entry.seq > 0 ? "<a class=\"button\" href=\"/ledger/entries/\(entry.seq - 1)\">← Previous entry</a>" : ""
        return """
            <section class="page-head"><p class="eyebrow"><a href="/ledger">Ledger</a> / entry \(entry.seq)</p>
            <h1>Entry \(entry.seq) \(LedgerViews.kindTag(entry.kind))</h1>
            <p class="lead" id="entry-summary">\(LedgerViews.summary(entry, names: names)).</p>
            \(links.isEmpty ? HTML("") : "<p class=\"subject-links\">\(LedgerViews.joined(links, separator: " · "))</p>")</section>
            \(LedgerViews.verifyPanel(seq: entry.seq))
            <section class="card" id="entry-fields"><div class="version-title"><h2>Fields</h2>
            <a class="button small" href="/api/ledger/entries/\(entry.seq)">JSON</a></div>
            <dl class="fields">
            \(LedgerViews.field("seq", "\(entry.seq)", id: "seq"))
            \(LedgerViews.field("time", "\(ISO8601.string(milliseconds: entry.time)) <span class=\"muted\">(\(entry.time) ms)</span>", id: "time"))
            \(LedgerViews.field("kind", "<code>\(entry.kind)</code>", id: "kind"))
            \(LedgerViews.field("payload", payload(entry.payload, names: names), id: "payload"))
            \(LedgerViews.field("prev_hash", previous, id: "prev-hash"))
            \(LedgerViews.field("hash", LedgerViews.hash(entry.hash, id: "entry-hash"), id: "hash"))
            \(LedgerViews.field("signature", "<code class=\"hash full small\" id=\"entry-signature\">\(entry.signature)</code>", id: "signature"))
            </dl>
            <p class="label spaced">Canonical JSON (RFC 8785) — the exact bytes whose SHA-256 is the hash</p>
            <pre class="canonical" id="canonical-json">\(canonical)</pre>
            <p class="hint">The signature is Ed25519 by the node key over the 32 raw bytes of the hash.</p></section>
            <section class="card" id="entry-proof"><div class="version-title"><h2>Inclusion proof</h2>
            <a class="button small" href="/api/ledger/proof/inclusion?seq=\(proof.seq)&amp;tree_size=\(proof.treeSize)">JSON</a></div>
            <p class="muted">The audit path (RFC 9162 §2.1.3) from this entry's leaf to the root of the latest signed tree head:
            hashing the leaf with each sibling in turn must give that root.</p>
            \(LedgerViews.proof(proof))</section>
            <section class="card" id="entry-head"><div class="version-title"><h2>Signed tree head</h2>
            <a class="button small" href="/api/ledger/head">JSON</a></div>
            <p class="muted">The node's signed statement that the ledger had this many entries with this root; its signature covers the
            canonical JSON of <code>{"root","timestamp","tree_size"}</code>.</p>
            \(LedgerViews.treeHead(head))</section>
            <p class="paging">\(older)\(newer)</p>
            """
    }

    /// The payload's members in key order, with people's names next to their ids.
    static func payload(_ payload: CanonicalJSON, names: [Int: String]) -> HTML {
        guard let members = payload.objectValue, !members.isEmpty else { return "<code>\(payload.canonicalString)</code>" }
        let rows: [HTML] = members.keys.sorted().map { key in
            let value = members[key] ?? .null
            var shown: HTML = key == "sha256" || key == "merkle_root" || key.hasSuffix("_sha256")
                ? "<code class=\"hash wrap-all\">\(LedgerViews.value(value))</code>" : "<code>\(LedgerViews.value(value))</code>"
            if LedgerViews.userKeys.contains(key), let id = value.intValue, let name = names[id] {
                shown = "\(shown) <span class=\"muted\">(\(name))</span>"
            }
            return "<tr><th scope=\"row\">\(key)</th><td>\(shown)</td></tr>"
        }
        return "<table class=\"payload\">\(rows)</table>"
    }
}
