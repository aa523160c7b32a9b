// Receipts: a contributor's (or a version's) proof that the ledger recorded it, to download and to verify in the browser.
import Foundation
import Hummingbird
import KilnData
import KilnLedger

extension WebController {
    /// `/ledger/receipts/submission/{id}`: the same people who may see the item through the API may see its receipt.
    @Sendable func submissionReceiptPage(_ request: Request, context: KilnContext) async throws -> Response {
        let submission = try await services.submissions.get(try context.numberParameter("id"))
        let datanet = try await services.datanets.get(submission.datanet)
        // An item of a private Datanet is as absent here as through the API.
        guard try await Authorization(services: services).canRead(datanet, context) else {
            throw DataError.notFound("There is no submission \(submission.id).")
        }
        if submission.status != .accepted {
            guard let user = context.credential?.user else { return WebSession.loginRedirect(request) }
            if user.id != submission.contributorId {
                guard try await services.datanets.canCurate(user, datanet) else {
                    throw DataError.forbidden("Only the contributor and the curators can see this item's receipt.")
                }
            }
        }
        guard submission.status != .pending else {
            throw DataError.notFound("Item #\(submission.id) is still waiting for a curator; its receipt is written when it is decided.")
        }
        let receipt = try await services.ledger.receipt(about: .submission(submission.id))
        return try await renderReceipt(receipt, context, title: "Receipt for item #\(submission.id)",
                                       api: "/api/submissions/\(submission.id)/receipt", fileName: "kiln-receipt-item-\(submission.id).json")
    }

    /// `/ledger/receipts/version/{slug}/{number}`: versions are public, and so are their receipts.
    @Sendable func versionReceiptPage(_ request: Request, context: KilnContext) async throws -> Response {
        let datanet = try await datanet(context)
        let number = try context.numberParameter("number")
        let receipt = try await services.ledger.receipt(about: .version(datanet.slug, number))
        return try await renderReceipt(receipt, context, title: "Receipt for version \(number) of \(datanet.slug)",
                                       api: "/api/datanets/\(datanet.slug)/versions/\(number)/receipt",
                                       fileName: "kiln-receipt-\(datanet.slug)-v\(number).json")
    }

    /// The receipt page for any receipt, with names put to the ids in its entry.
    func renderReceipt(_ receipt: Receipt, _ context: KilnContext, title: String, api: String, fileName: String) async throws -> Response {
        let names = try await services.ledger.usernames(ids: LedgerViews.userIds([receipt.entry]))
        return Layout.render(title, context, LedgerReceiptViews.page(receipt, title: title, api: api, fileName: fileName, names: names))
    }
}

/// The receipt page.
enum LedgerReceiptViews {
    /// What the receipt proves, how to keep it, the verifier, and its parts.
    static func page(_ receipt: Receipt, title: String, api: String, fileName: String, names: [Int: String]) -> HTML {
        let entry = receipt.entry
        return """
            <section class="page-head"><p class="eyebrow"><a href="/ledger">Ledger</a> / receipt</p><h1>\(title)</h1>
            <p class="lead" id="receipt-summary">\(LedgerViews.summary(entry, names: names)), recorded as
            <a href="/ledger/entries/\(entry.seq)" id="receipt-entry-link">entry \(entry.seq)</a> on \(Format.date(entry.time)).</p></section>
            <section class="card receipt-keep"><div><h2>Keep this receipt</h2>
            <p class="muted">It holds the signed entry, its inclusion proof and the signed tree head. Anyone with the node's public key can
            check it offline, without this server: <code>kiln ledger verify-receipt \(fileName) --key \(Format.shortHash(receipt.publicKey))</code></p></div>
            <a class="button primary" id="download-receipt" href="\(api)" download="\(fileName)">Download receipt JSON</a></section>
            \(LedgerViews.verifyPanel(receiptURL: api))
            <section class="card" id="receipt-entry"><div class="version-title"><h2>Entry \(entry.seq) \(LedgerViews.kindTag(entry.kind))</h2>
            <a class="button small" href="/ledger/entries/\(entry.seq)">Open entry</a></div>
            <dl class="fields">
            \(LedgerViews.field("payload", LedgerEntryViews.payload(entry.payload, names: names)))
            \(LedgerViews.field("hash", LedgerViews.hash(entry.hash, id: "entry-hash")))
            \(LedgerViews.field("signature", "<code class=\"hash full small\">\(entry.signature)</code>"))
            </dl></section>
            <section class="card" id="receipt-proof"><h2>Inclusion proof</h2>\(LedgerViews.proof(receipt.inclusion))</section>
            <section class="card" id="receipt-head"><h2>Signed tree head</h2>\(LedgerViews.treeHead(receipt.treeHead))
            <p class="label spaced">Node public key (Ed25519)</p>\(LedgerViews.hash(receipt.publicKey, id: "public-key"))</section>
            """
    }
}
