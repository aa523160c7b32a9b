// Small view pieces several pages share: messages, status badges, check lists, item previews, paging.
import Foundation
import KilnAPI
import KilnData

/// Reusable HTML fragments.
enum Views {
    /// An error message box, or nothing.
    static func errorBox(_ message: String?) -> HTML {
        guard let message else { return "" }
        return "<div class=\"alert error\" role=\"alert\" id=\"form-error\">\(message)</div>"
    }

    /// A success message box, or nothing.
    static func noticeBox(_ message: String?) -> HTML {
        guard let message else { return "" }
        return "<div class=\"alert success\" role=\"status\" id=\"notice\">\(message)</div>"
    }

    /// A coloured badge for a submission's status.
    static func badge(_ status: SubmissionStatus) -> HTML {
        "<span class=\"badge \(status.rawValue)\">\(status.rawValue)</span>"
    }

    /// A badge for a Datanet's kind.
    static func kindTag(_ kind: DatanetKind) -> HTML {
        "<span class=\"tag kind-\(kind.rawValue)\">\(kind.rawValue)</span>"
    }

    /// The automatic checks as a ✓/✗ list.
    static func checks(_ checks: [CheckResult]) -> HTML {
        guard !checks.isEmpty else { return "<p class=\"muted\">No automatic checks recorded.</p>" }
        let rows: [HTML] = checks.map { check in
            """
            <li class="check \(check.ok ? "ok" : "fail")"><span class="mark" aria-hidden="true">\(check.ok ? "✓" : "✗")</span>
            <span class="check-name">\(check.check.replacingOccurrences(of: "_", with: " "))</span> <span class="check-detail">\(check.detail)</span></li>
            """
        }
        return "<ul class=\"checks\">\(rows)</ul>"
    }

    /// A preview of an item: its text, or the image or audio served from the API.
    static func preview(_ submission: Submission) -> HTML {
        if submission.blobSHA256 != nil {
            let url = "/api/submissions/\(submission.id)/content"
            let caption = "\(submission.fileName ?? submission.format) · \(mediaFacts(submission))"
            switch submission.kind {
            case .image:
                return """
                    <figure class="preview"><a href="\(url)"><img src="\(url)" alt="\(submission.fileName ?? "Submitted image") " loading="lazy"></a>
                    <figcaption>\(caption)</figcaption></figure>
                    """
            case .audio:
                return "<figure class=\"preview\"><audio controls preload=\"metadata\" src=\"\(url)\"></audio><figcaption>\(caption)</figcaption></figure>"
            case .text:
                return "<p class=\"muted\">\(caption) · <a href=\"\(url)\">download</a></p>"
            }
        }
        return textPreview(submission.content ?? "")
    }

    /// Dimensions, duration and size of a media item.
    static func mediaFacts(_ submission: Submission) -> String {
        var facts: [String] = [submission.format.uppercased()]
        if let width = submission.width, let height = submission.height { facts.append("\(width)×\(height)") }
        if let seconds = submission.seconds { facts.append(Format.decimal(seconds) + " s") }
        facts.append(Format.bytes(submission.bytes))
        return facts.joined(separator: " · ")
    }

    /// A text item's fields, laid out per schema from its canonical JSON.
    static func textPreview(_ content: String) -> HTML {
        guard case .object(let fields)? = JSONValue(parsing: content) else {
            return "<pre class=\"text-item\">\(content)</pre>"
        }
        if case .string(let text)? = fields["text"] {
            return "<pre class=\"text-item\">\(text)</pre>"
        }
        if case .array(let messages)? = fields["messages"] {
            let rows: [HTML] = messages.map { message in
                guard case .object(let parts) = message, case .string(let role)? = parts["role"], case .string(let text)? = parts["content"] else {
                    return ""
                }
                return "<div class=\"turn role-\(role)\"><span class=\"role\">\(role)</span><pre>\(text)</pre></div>"
            }
            return "<div class=\"chat-item\">\(rows)</div>"
        }
        let order = ["instruction", "input", "response"]
        let rows: [HTML] = order.compactMap { key in
            guard case .string(let text)? = fields[key] else { return nil }
            return "<dt>\(key)</dt><dd><pre>\(text)</pre></dd>"
        }
        return "<dl class=\"instruction-item\">\(rows)</dl>"
    }

    /// A "More →" link to the next page of a list, or nothing at the end.
    static func nextLink(_ path: String, next: String?) -> HTML {
        guard let next else { return "" }
        return "<p class=\"paging\"><a class=\"button\" href=\"\(path)?cursor=\(next)\">More →</a></p>"
    }

    /// The tabs under a Datanet's title, with the current one marked.
    static func datanetTabs(_ datanet: Datanet, current: String, canCurate: Bool) -> HTML {
        let slug = datanet.slug
        var tabs: [(String, String, String)] = [
            ("overview", "/datanets/\(slug)", "Overview"),
            ("leaderboard", "/datanets/\(slug)/leaderboard", "Leaderboard"),
            ("versions", "/datanets/\(slug)/versions", "Versions"),
        ]
        if canCurate { tabs.append(("queue", "/datanets/\(slug)/queue", "Review queue")) }
        let links: [HTML] = tabs.map { id, href, label in
            "<a href=\"\(href)\" id=\"tab-\(id)\"\(id == current ? HTML(" class=\"current\" aria-current=\"page\"") : "")>\(label)</a>"
        }
        return """
            <div class="datanet-head"><p class="eyebrow"><a href="/">Datanets</a> / \(slug)</p>
            <h1>\(datanet.title) \(kindTag(datanet.kind))\(datanet.isPrivate ? HTML(" <span class=\"tag\" id=\"private-tag\">private</span>") : "")</h1><nav class="tabs">\(links)</nav></div>
            """
    }
}
