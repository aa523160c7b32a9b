// A contributor's own items with their status, reasons and checks.
import Foundation
import Hummingbird
import KilnData

extension WebController {
    /// The signed-in contributor's own items.
    @Sendable func mySubmissionsPage(_ request: Request, context: KilnContext) async throws -> Response {
        guard let user = context.credential?.user else { return WebSession.loginRedirect(request) }
        let page = try await services.submissions.mine(user, page: try pageRequest(request, limit: 50))
        return Layout.render("My submissions", context, MySubmissionsViews.page(page))
    }
}

/// The my-submissions page.
enum MySubmissionsViews {
    /// Newest first, each with what happened to it.
    static func page(_ page: KilnData.Page<Submission>) -> HTML {
        let rows: [HTML] = page.items.map(row)
        let body: HTML = page.items.isEmpty
            ? "<div class=\"card empty\"><h2>Nothing yet</h2><p>Pick a <a href=\"/\">Datanet</a> and add your first item.</p></div>"
            : "<ol class=\"items\" id=\"my-submissions\">\(rows)</ol>"
        return """
            <section class="page-head"><h1>My submissions</h1>
            <p class="lead">Newest first. A rejection never counts against you: fix what the checks or the curator point out and send it again.</p></section>
            \(body)\(Views.nextLink("/me/submissions", next: page.next))
            """
    }

    /// One item: where it went, its status and reason, its preview and checks.
    static func row(_ submission: Submission) -> HTML {
        let reason: HTML = submission.reason.map { reason in
            "<p class=\"reason\"><strong>\(submission.stage == .curator ? "Curator" : "Automatic check"):</strong> \(reason)</p>"
        } ?? ""
        // Decided items are on the ledger; pending ones get their entry (and receipt) when a curator decides.
        let receipt: HTML = submission.status == .pending ? ""
            : "<a class=\"button small receipt-link\" href=\"/ledger/receipts/submission/\(submission.id)\" id=\"receipt-\(submission.id)\">Receipt</a>"
        let failed = submission.checks.filter { !$0.ok }.count
        let summary = failed == 0 ? "All \(Format.plural(submission.checks.count, "check")) passed" : "\(Format.plural(failed, "check")) failed"
        return """
            <li class="card item status-\(submission.status.rawValue)" data-id="\(submission.id)">
            <div class="item-head">\(Views.badge(submission.status))<span class="item-title">#\(submission.id) in
            <a href="/datanets/\(submission.datanet)">\(submission.datanet)</a></span>\(receipt)<span class="muted when">\(Format.date(submission.createdAt))</span></div>
            \(reason)
            \(Views.preview(submission))
            <details><summary>\(summary)</summary>\(Views.checks(submission.checks))</details>
            </li>
            """
    }
}
