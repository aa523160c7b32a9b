// Starting a Datanet from the browser: the form, and turning its fields into a create request.
import Foundation
import HTTPTypes
import Hummingbird
import KilnData

extension WebController {
    /// The new-Datanet form.
    @Sendable func newDatanetPage(_ request: Request, context: KilnContext) async throws -> Response {
        guard context.credential != nil else { return WebSession.loginRedirect(request) }
        return Layout.render("New Datanet", context, NewDatanetViews.page(NewDatanetForm(), csrf: context.credential?.csrf, error: nil))
    }

    /// Creates the Datanet from the form, or shows the form again with what to fix.
    @Sendable func newDatanetPost(_ request: Request, context: KilnContext) async throws -> Response {
        let form = try await WebForm.read(request)
        let user = try form.requireUser(context)
        let fields = NewDatanetForm(form)
        do {
            let datanet = try await services.datanets.create(try fields.request(), by: user)
            return WebSession.redirect("/datanets/\(datanet.slug)?created=1")
        } catch let error as DataError {
            return Layout.render("New Datanet", context, status: .init(code: error.status),
                               NewDatanetViews.page(fields, csrf: context.credential?.csrf, error: NewDatanetForm.friendly(error.message)))
        }
    }
}

/// The new-Datanet form's fields as typed, so a refused form comes back filled in.
struct NewDatanetForm: Sendable {
    /// Text fields as typed, named after the form inputs; numbers stay text until `request()` parses them.
    var slug = ""
    var title = ""
    var description = ""
    var kind = "text"
    var schema = "plain"
    var license = "CC-BY-4.0"
    /// Ticked formats; a fresh form ticks every kind's defaults.
    var formats: Set<String> = Set(DatanetKind.allCases.flatMap { DatanetRules.defaults(for: $0).formats })
    var maxItemBytes = ""
    var dailyLimit = "100"
    var minChars = ""
    var maxChars = ""
    var minPixels = ""
    var maxPixels = ""
    var minSeconds = ""
    var maxSeconds = ""
    var validationPercent = "10"
    /// Whether only curators and admins may see it.
    var isPrivate = false

    /// A blank form with the defaults.
    init() {}

    /// The fields of a posted form.
    init(_ form: WebForm) {
        slug = form["slug"].trimmingCharacters(in: .whitespaces).lowercased()
        title = form["title"].trimmingCharacters(in: .whitespacesAndNewlines)
        description = form["description"].trimmingCharacters(in: .whitespacesAndNewlines)
        kind = form["kind"]
        schema = form["schema"]
        license = form["license"].trimmingCharacters(in: .whitespaces)
        formats = Set(form.values("formats"))
        maxItemBytes = form["max_item_bytes"]
        dailyLimit = form["daily_limit"]
        minChars = form["min_chars"]
        maxChars = form["max_chars"]
        minPixels = form["min_pixels"]
        maxPixels = form["max_pixels"]
        minSeconds = form["min_seconds"]
        maxSeconds = form["max_seconds"]
        validationPercent = form["validation_percent"]
        isPrivate = form["private"] == "on"
    }

    /// The create request these fields describe; blank rule fields keep the kind's defaults.
    /// - Throws: `DataError.badRequest` naming the field to fix.
    func request() throws -> CreateDatanetRequest {
        guard let kind = DatanetKind(rawValue: kind) else {
            throw DataError.invalid("Choose what the Datanet collects: text, images or audio.")
        }
        var schema = TextSchema.plain
        if kind == .text {
            guard let chosen = TextSchema(rawValue: self.schema.isEmpty ? "plain" : self.schema) else {
                throw DataError.invalid("Choose the shape of a text item.")
            }
            schema = chosen
        }
        var rules = DatanetRules.defaults(for: kind)
        // Boxes of other kinds may be ticked too (the page shows them without JavaScript), so only this kind's count.
        let chosen = DatanetRules.knownFormats(for: kind).intersection(formats)
        guard !chosen.isEmpty else { throw DataError.invalid("Tick at least one accepted format.") }
        rules.formats = rules.formats.filter(chosen.contains) + chosen.subtracting(rules.formats).sorted()
        if let value = try Self.integer(maxItemBytes, "Max item size") { rules.maxItemBytes = value }
        if let value = try Self.integer(dailyLimit, "Daily limit") { rules.dailyLimit = value }
        if let value = try Self.integer(validationPercent, "Validation share") { rules.validationPercent = value }
        switch kind {
        case .text:
            let bounds = (try Self.integer(minChars, "Minimum characters"), try Self.integer(maxChars, "Maximum characters"))
            if bounds.0 != nil || bounds.1 != nil { (rules.minChars, rules.maxChars) = bounds }
        case .image:
            let bounds = (try Self.integer(minPixels, "Minimum pixels"), try Self.integer(maxPixels, "Maximum pixels"))
            if bounds.0 != nil || bounds.1 != nil { (rules.minPixels, rules.maxPixels) = bounds }
        case .audio:
            let bounds = (try Self.number(minSeconds, "Minimum seconds"), try Self.number(maxSeconds, "Maximum seconds"))
            if bounds.0 != nil || bounds.1 != nil { (rules.minSeconds, rules.maxSeconds) = bounds }
        }
        return CreateDatanetRequest(slug: slug, title: title, description: description, kind: kind, schema: schema,
                                    license: license.isEmpty ? "CC-BY-4.0" : license, rules: rules, isPrivate: isPrivate)
    }

    /// The store's messages name JSON keys (`rules.max_chars`); the form's reader knows the fields by their labels.
    static func friendly(_ message: String) -> String {
        let labels = [("rules.min_chars/max_chars", "Minimum/maximum characters"), ("rules.min_pixels/max_pixels", "Minimum/maximum pixels"),
                      ("rules.min_seconds/max_seconds", "Minimum/maximum seconds"), ("rules.max_item_bytes", "Max item size"),
                      ("rules.daily_limit", "Items per contributor per day"), ("rules.validation_percent", "Held out for validation"),
                      ("rules.min_chars", "Minimum characters"), ("rules.max_chars", "Maximum characters"),
                      ("rules.min_pixels", "Minimum pixels"), ("rules.max_pixels", "Maximum pixels"),
                      ("rules.min_seconds", "Minimum seconds"), ("rules.max_seconds", "Maximum seconds"), ("rules.formats", "Accepted formats")]
        return labels.reduce(message) { $0.replacingOccurrences(of: $1.0, with: $1.1) }
    }

    /// A whole number typed with optional thousands separators, or `nil` when blank.
    static func integer(_ raw: String, _ label: String) throws -> Int? {
        let cleaned = raw.filter { $0 != "," && $0 != "_" && !$0.isWhitespace }
        if cleaned.isEmpty { return nil }
        guard let value = Int(cleaned) else { throw DataError.invalid("\(label) must be a whole number, such as 1000.") }
        return value
    }

    /// A decimal number, or `nil` when blank.
    static func number(_ raw: String, _ label: String) throws -> Double? {
        let cleaned = raw.filter { $0 != "," && $0 != "_" && !$0.isWhitespace }
        if cleaned.isEmpty { return nil }
        guard let value = Double(cleaned), value.isFinite else { throw DataError.invalid("\(label) must be a number, such as 2.5.") }
        return value
    }
}

/// The new-Datanet page.
enum NewDatanetViews {
    /// The whole form.
    static func page(_ form: NewDatanetForm, csrf: String?, error: String?) -> HTML {
        let kinds: [HTML] = [(DatanetKind.text, "Text", "Passages, instructions or conversations"),
                             (.image, "Images", "PNG, JPEG, WebP or GIF pictures"),
                             (.audio, "Audio", "WAV, FLAC, MP3 or Ogg recordings")].map { kind, label, blurb in
            """
            <label class="choice"><input type="radio" name="kind" value="\(kind.rawValue)" id="kind-\(kind.rawValue)"\(checked(form.kind == kind.rawValue))>
            <span><strong>\(label)</strong><small>\(blurb)</small></span></label>
            """
        }
        let schemas: [HTML] = TextSchema.allCases.map { schema in
            "<option value=\"\(schema.rawValue)\"\(form.schema == schema.rawValue ? HTML(" selected") : "")>\(schemaLabel(schema))</option>"
        }
        return """
            <section class="card form-card">
            <p class="eyebrow"><a href="/">Datanets</a> / new</p>
            <h1>Start a Datanet</h1>
            <p class="lead">You become its first curator: you review what people send and publish versions.</p>
            \(Views.errorBox(error))
            <form method="post" action="/datanets/new" class="stack" id="new-datanet-form" data-kind-form>
            <input type="hidden" name="csrf" value="\(csrf)">
            <div class="two">
            <div><label for="title">Title</label><input id="title" name="title" value="\(form.title)" required maxlength="200"></div>
            <div><label for="slug">Short name (used in addresses)</label><input id="slug" name="slug" value="\(form.slug)" required
             minlength="2" maxlength="48" pattern="[a-z0-9](?:[a-z0-9\\-]*[a-z0-9])?" placeholder="e.g. kind-replies">
            <p class="hint">2–48 lowercase letters, digits and dashes.</p></div></div>
            <label for="description">Description</label>
            <textarea id="description" name="description" rows="3" maxlength="5000" placeholder="What you are collecting and why">\(form.description)</textarea>
            <fieldset><legend>What it collects</legend><div class="choices">\(kinds)</div></fieldset>
            <div class="two">
            <div data-kind-only="text"><label for="schema">Shape of a text item</label><select id="schema" name="schema">\(schemas)</select></div>
            <div><label for="license">Licence</label><input id="license" name="license" value="\(form.license)" maxlength="100">
            <p class="hint">An SPDX id such as CC-BY-4.0 or CC0-1.0.</p></div></div>
            <label class="check-box"><input type="checkbox" name="private" id="private"\(form.isPrivate ? HTML(" checked") : "")> Private</label>
            <p class="hint">Only its curators (and admins) can see it, its items and its versions; runs on it are private too.</p>
            <fieldset><legend>Rules</legend>
            \(formatBoxes(form))
            <div class="three">
            <div><label for="daily_limit">Items per contributor per day</label><input id="daily_limit" name="daily_limit" inputmode="numeric" value="\(form.dailyLimit)"></div>
            <div><label for="max_item_bytes">Max item size (bytes)</label><input id="max_item_bytes" name="max_item_bytes" inputmode="numeric" value="\(form.maxItemBytes)" placeholder="default for the kind"></div>
            <div><label for="validation_percent">Held out for validation (%)</label><input id="validation_percent" name="validation_percent" inputmode="numeric" value="\(form.validationPercent)"></div>
            </div>
            \(bounds("text", "characters", ("min_chars", form.minChars), ("max_chars", form.maxChars), "1", "20,000"))
            \(bounds("image", "pixels (width × height)", ("min_pixels", form.minPixels), ("max_pixels", form.maxPixels), "64", "40,000,000"))
            \(bounds("audio", "seconds", ("min_seconds", form.minSeconds), ("max_seconds", form.maxSeconds), "0.5", "600"))
            </fieldset>
            <div class="actions"><button type="submit" class="button primary" id="create-datanet">Create Datanet</button>
            <a href="/" class="button ghost">Cancel</a></div>
            </form></section>
            """
    }

    /// The format checkboxes, one group per kind.
    static func formatBoxes(_ form: NewDatanetForm) -> HTML {
        let groups: [HTML] = DatanetKind.allCases.map { kind in
            let boxes: [HTML] = DatanetRules.knownFormats(for: kind).sorted().map { format in
                """
                <label class="check-box"><input type="checkbox" name="formats" value="\(format)" id="format-\(format)"\(checked(form.formats.contains(format)))>
                \(RuleWords.formatName(format))</label>
                """
            }
            return "<div class=\"format-group\" data-kind-only=\"\(kind.rawValue)\"><span class=\"label\">Accepted \(kind.rawValue) formats</span><div class=\"boxes\">\(boxes)</div></div>"
        }
        return "\(groups)"
    }

    /// A min/max pair shown only for one kind.
    static func bounds(_ kind: String, _ unit: String, _ low: (String, String), _ high: (String, String),
                       _ defaultLow: String, _ defaultHigh: String) -> HTML {
        """
        <div class="two" data-kind-only="\(kind)">
        <div><label for="\(low.0)">Minimum \(unit)</label><input id="\(low.0)" name="\(low.0)" inputmode="decimal" value="\(low.1)" placeholder="\(defaultLow)"></div>
        <div><label for="\(high.0)">Maximum \(unit)</label><input id="\(high.0)" name="\(high.0)" inputmode="decimal" value="\(high.1)" placeholder="\(defaultHigh)"></div>
        </div>
        """
    }

    /// ` checked` or nothing.
    static func checked(_ on: Bool) -> HTML { on ? " checked" : "" }

    /// How a schema is offered in the menu.
    static func schemaLabel(_ schema: TextSchema) -> String {
        switch schema {
        case .plain: "Plain text"
        case .instruction: "Instruction → response"
        case .chat: "Chat conversation"
        }
    }
}
