// The curators' review queue: pending items oldest first, with a preview and accept / reject-with-reason.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData

extension WebController {
    /// The review queue (curators only).
    @Sendable func queuePage(_ request: Request, context: KilnContext) async throws -> Response {
        guard context.credential != nil else { return WebSession.loginRedirect(request) }
        let datanet = try await curatedDatanet(context)
        var notice: String?
        if let id = request.lenientQueryNumber("reviewed"), let decision = request.uri.queryParameters.get("decision") {
            notice = decision == "accept" ? "Item #\(id) accepted." : "Item #\(id) rejected; the contributor sees your reason."
        }
        return try await renderQueue(request, context, datanet, notice: notice, error: nil)
    }

    /// Accepts or rejects one pending item from the queue form.
    @Sendable func reviewPost(_ request: Request, context: KilnContext) async throws -> Response {
        let form = try await WebForm.read(request)
        let user = try form.requireUser(context)
        let datanet = try await curatedDatanet(context)
        let id = try context.numberParameter("id")
        guard let decision = SubmissionService.Decision(rawValue: form["decision"]) else {
            throw DataError.invalid("Choose Accept or Reject.")
        }
        do {
            let submission = try await services.submissions.get(id)
            guard submission.datanet == datanet.slug else { throw DataError.notFound("Item #\(id) is not in \(datanet.slug).") }
            _ = try await services.submissions.review(id, decision: decision, reason: form.trimmed("reason"), by: user)
            return WebSession.redirect("/datanets/\(datanet.slug)/queue?reviewed=\(id)&decision=\(decision.rawValue)")
        } catch let error as DataError where error.status != 403 {
            return try await renderQueue(request, context, datanet, notice: nil, error: "Item #\(id): \(error.message)",
                                         status: .init(code: error.status))
        }
    }

    /// The Datanet of the `:slug` parameter, if the caller curates it.
    /// - Throws: `DataError.forbidden` for everyone else.
    func curatedDatanet(_ context: KilnContext) async throws -> Datanet {
        let datanet = try await datanet(context)
        // Signed-in is checked by the caller (a form post checks its CSRF field, not the API's header).
        guard let user = context.credential?.user else { throw DataError.unauthorized("Sign in to review items.") }
        try await Authorization(services: services).requireCurator(user, of: datanet)
        return datanet
    }

    /// The queue page with an optional message.
    func renderQueue(_ request: Request, _ context: KilnContext, _ datanet: Datanet, notice: String?, error: String?,
                     status: HTTPResponse.Status = .ok) async throws -> Response {
        let page = try await services.submissions.queue(datanet, page: try pageRequest(request, limit: 25))
        let pending = try await services.datanets.summary(of: datanet).pending
        return Layout.render("Review · \(datanet.title)", context, status: status,
                           QueueViews.page(datanet, page, pending: pending, csrf: context.credential?.csrf, notice: notice, error: error))
    }
}

/// The review queue page.
enum QueueViews {
    /// Pending items, oldest first.
    static func page(_ datanet: Datanet, _ page: KilnData.Page<Submission>, pending: Int, csrf: String?, notice: String?, error: String?) -> HTML {
        let cards: [HTML] = page.items.map { card($0, datanet: datanet, csrf: csrf) }
        let body: HTML = page.items.isEmpty
            ? "<div class=\"card empty\" id=\"queue-empty\"><h2>All caught up</h2><p>No items are waiting for review.</p></div>"
            : "<ol class=\"items\" id=\"queue\">\(cards)</ol>"
        return """
            \(Views.datanetTabs(datanet, current: "queue", canCurate: true))
            <p class="lead">\(Format.plural(pending, "item")) waiting, oldest first. Accepted items count for their contributor and go into the next version;
            a rejection needs a reason, which the contributor sees.</p>
            \(Views.noticeBox(notice))\(Views.errorBox(error))
            \(body)\(Views.nextLink("/datanets/\(datanet.slug)/queue", next: page.next))
            """
    }

    /// One pending item with its review form.
    static func card(_ submission: Submission, datanet: Datanet, csrf: String?) -> HTML {
        let id = submission.id
        return """
            <li class="card item review-item" data-id="\(id)">
            <div class="item-head">\(Views.badge(submission.status))<span class="item-title">#\(id) by <strong>\(submission.contributor)</strong></span>
            <span class="muted when">\(Format.date(submission.createdAt))</span></div>
            \(Views.preview(submission))
            <details><summary>Automatic checks passed</summary>\(Views.checks(submission.checks))</details>
            <form method="post" action="/datanets/\(datanet.slug)/queue/\(id)" class="review" data-review>
            <input type="hidden" name="csrf" value="\(csrf)">
            <label for="reason-\(id)">Reason <span class="muted">(required to reject; optional note when accepting)</span></label>
            <input id="reason-\(id)" name="reason" maxlength="2000" placeholder="What should the contributor fix?">
            <p class="field-error" data-review-error hidden></p>
            <div class="actions"><button type="submit" name="decision" value="accept" class="button success" id="accept-\(id)">✓ Accept</button>
            <button type="submit" name="decision" value="reject" class="button danger" id="reject-\(id)">✗ Reject</button></div>
            </form></li>
            """
    }
}
