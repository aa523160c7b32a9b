// The New run page: a base, a published version the user may read, and every setting of `kiln train`, each with one
// line saying what it does, defaults chosen by the base's size, checks in the browser before anything is sent, and an
// estimate of steps, tokens, time and memory from `POST /api/runs/estimate`. The form posts JSON to `POST /api/runs`
// (kiln.js), so the browser and scripts meet the same checks.
import Foundation
import Hummingbird
import KilnAPI
import KilnData
import KilnModels
import KilnTrain

/// A published version a run may train on.
struct TrainableVersion: Sendable {
    var datanet: Datanet
    var version: DatasetVersion
}

extension WebController {
    /// The New run page.
    @Sendable func newRunPage(_ request: Request, context: KilnContext) async throws -> Response {
        guard context.credential != nil else { return WebSession.loginRedirect(request) }
        guard let training else {
            return Layout.render("New run", context, "<section class=\"card empty\"><h2>Training is off</h2><p>This node does not train models.</p></section>")
        }
        let bases = BaseModelFactsCache.shared.bases(training.catalog)
        var modules: [String: [String]] = [:]
        for base in bases where base.facts != nil {
            modules[base.name] = (try? await ModuleNames.shared.of(base.path).kinds) ?? []
        }
        let versions = try await trainableVersions(context)
        let query = request.uri.queryParameters
        let chosen = RunFormChoice(base: query.get("base"), data: query.get("data"))
        return Layout.render("New run", context, RunFormViews.page(bases, modules: modules, versions: versions, chosen: chosen))
    }

    /// The newest versions of the text Datanets the caller may read, newest Datanet first.
    func trainableVersions(_ context: KilnContext) async throws -> [TrainableVersion] {
        let datanets = try await services.datanets.list(page: try PageRequest(limit: "100", cursor: nil), viewer: context.credential?.user)
        var out: [TrainableVersion] = []
        for summary in datanets.items where summary.datanet.kind == .text && summary.versions > 0 {
            for version in try await services.versions.list(summary.datanet).sorted(by: { $0.number > $1.number }).prefix(5) {
                out.append(TrainableVersion(datanet: summary.datanet, version: version))
            }
        }
        return out
    }
}

/// What the page was opened with (`?base=`, `?data=slug@number`).
struct RunFormChoice {
    var base: String?
    var data: String?
}

/// Defaults by base size: small models take a higher rate and full precision; larger ones a lower rate, rank 16,
/// smaller batches and 4-bit QLoRA, which is what fits a CPU node's memory.
enum RunDefaults {
    /// The form's values for a base of `parameters`.
    static func values(parameters: Int?, isGGUF: Bool) -> [String: JSONValue] {
        let size = parameters ?? 0
        let small = size < 500_000_000
        return [
            "learning_rate": .number(small ? 2e-4 : 1e-4), "lora_r": .number(small ? 8 : 16), "lora_alpha": .number(small ? 16 : 32),
            "micro_batch_size": .number(small ? 4 : size < 3_000_000_000 ? 2 : 1), "max_length": .number(small ? 512 : 1024),
            "qlora": .bool(!small && !isGGUF), "epochs": .number(3),
        ]
    }
}

/// The New run page's HTML.
enum RunFormViews {
    /// The form: data and base, the LoRA shape, the optimisation, and the estimate beside it.
    static func page(_ bases: [BaseModelInfo], modules: [String: [String]], versions: [TrainableVersion], chosen: RunFormChoice) -> HTML {
        guard !bases.isEmpty, !versions.isEmpty else {
            let missing = bases.isEmpty ? "This node has no base model yet; an admin can import one on the Models page."
                : "There is no published text version you can read yet. Publish a version of an instruction, chat or text Datanet first."
            return "<section class=\"card empty\" id=\"run-form-empty\"><h2>Nothing to train on yet</h2><p>\(missing)</p></section>"
        }
        let baseOptions: [HTML] = bases.map { base in
            let defaults = JSONValue.object(RunDefaults.values(parameters: base.parameters, isGGUF: ModelRegistry.isGGUF(base.path))).compactText
            let label = base.id + (base.parameters.map { " · " + Format.parameters($0) } ?? "")
            return """
                <option value="\(base.name)" data-defaults="\(defaults)" data-modules="\((modules[base.name] ?? []).joined(separator: ","))"\
                \(base.name == (chosen.base ?? bases[0].name) ? HTML(" selected") : "")>\(label)</option>
                """
        }
        let dataOptions: [HTML] = versions.map { item in
            let value = "\(item.datanet.slug)@\(item.version.number)"
            return """
                <option value="\(value)" data-validation="\(item.version.validationCount)" data-train="\(item.version.trainCount)"\
                \(value == chosen.data ? HTML(" selected") : "")>\(item.datanet.title) · v\(item.version.number) · \(Format.plural(item.version.count, "item")) · \(item.datanet.schema.rawValue)</option>
                """
        }
        let schedulers: [HTML] = LRSchedule.allCases.map { "<option value=\"\($0.rawValue)\"\($0 == .linear ? HTML(" selected") : "")>\($0.rawValue)</option>" }
        return """
            <div class="page-head"><p class="eyebrow"><a href="/runs">Runs</a> / new</p><h1>Fine-tune a model</h1>
            <p class="lead">Pick published data and a base model. The defaults suit the base's size; every setting says what it does.</p></div>
            <div class="layout">
            <form class="card stack run-form" id="run-form" data-run-form novalidate>
            <div id="run-form-error" class="alert error" role="alert" hidden></div>
            <fieldset><legend>Data and base</legend>
            \(field("data", "Training data", "<select id=\"f-data\" name=\"data\" required>\(dataOptions)</select>",
                    "A published, frozen version: the run records its Merkle root, so everyone can see what the model learned from."))
            <p class="hint" id="data-split"></p>
            \(field("base", "Base model", "<select id=\"f-base\" name=\"base\" required>\(baseOptions)</select>",
                    "The model the adapter is trained on top of; it stays unchanged."))
            </fieldset>
            <fieldset><legend>Adapter (LoRA)</legend><div class="three">
            \(number("lora_r", "Rank", 8, min: 1, max: 1024, step: 1, "Width of the low-rank update: higher learns more, costs more."))
            \(number("lora_alpha", "Alpha", 16, min: 0.0001, max: 1e6, step: "any", "Scale of the update (alpha / rank); twice the rank is usual."))
            \(number("lora_dropout", "Dropout", 0, min: 0, max: 0.99, step: "any", "Share of adapter inputs dropped while training; guards small data."))
            </div>
            <label class="check-box"><input type="checkbox" name="use_rslora" id="f-use_rslora"> rsLoRA</label>
            <p class="hint">Scales by alpha / √rank, which keeps high ranks stable.</p>
            <label class="check-box"><input type="checkbox" name="qlora" id="f-qlora"> 4-bit QLoRA (NF4)</label>
            <p class="hint">Holds the base in 4 bits: about a third of the memory, somewhat slower. GGUF bases are already quantised.</p>
            <p class="label">Target modules</p><div class="boxes" id="f-modules" data-modules-box></div>
            <p class="hint">Which layers get an adapter. All linear layers is the strongest; attention only (q, v) is the lightest.</p>
            </fieldset>
            <fieldset><legend>Optimisation</legend><div class="three">
            \(number("learning_rate", "Learning rate", 2e-4, min: 0, max: 10, step: "any", "Step size of AdamW; 1e-4 to 3e-4 suits LoRA."))
            \(number("epochs", "Epochs", 3, min: 1, max: 10_000, step: 1, "Passes over the training items."))
            \(number("max_steps", "Max steps", nil, min: 1, max: 10_000_000, step: 1, "Stop after this many optimiser steps (empty: all epochs)."))
            \(number("micro_batch_size", "Batch size", 4, min: 1, max: 1024, step: 1, "Items per forward pass; memory grows with it."))
            \(number("gradient_accumulation", "Gradient accumulation", 1, min: 1, max: 65_536, step: 1, "Batches summed per step: a larger batch without the memory."))
            \(number("max_length", "Max length", 512, min: 2, max: 131_072, step: 1, "Tokens per item; longer items are cut."))
            \(field("lr_scheduler", "Scheduler", "<select id=\"f-lr_scheduler\" name=\"lr_scheduler\">\(schedulers)</select>", "How the rate changes over the run."))
            \(number("warmup_steps", "Warmup steps", 0, min: 0, max: 10_000_000, step: 1, "Steps the rate ramps up from 0."))
            \(number("weight_decay", "Weight decay", 0, min: 0, max: 10, step: "any", "Pulls adapter weights towards 0 each step."))
            \(number("max_grad_norm", "Gradient clipping", 1, min: 0.0001, max: 1e6, step: "any", "Largest gradient norm a step may take."))
            \(number("seed", "Seed", 42, min: 0, max: 9_007_199_254_740_991, step: 1, "Same seed, same data, same settings: the same adapter."))
            \(number("checkpoint_every", "Checkpoint every", 50, min: 0, max: 10_000_000, step: 1, "Steps between checkpoints a stopped run resumes from."))
            </div></fieldset>
            <label class="check-box"><input type="checkbox" name="private" id="f-private"> Private run</label>
            <p class="hint">Only you (and admins) can see it, chat with it and download it. Runs on private Datanets are always private.</p>
            <div class="actions"><button type="submit" class="button primary" id="start-run">Start training</button>
            <span class="busy" data-busy hidden>Checking…</span></div>
            </form>
            <aside class="side-col"><section class="card estimate" id="estimate" aria-live="polite"><h2>Estimate</h2>
            <dl class="stats big" id="estimate-figures"><div><dt>steps</dt><dd data-est="steps">–</dd></div><div><dt>tokens</dt><dd data-est="tokens">–</dd></div>
            <div><dt>time</dt><dd data-est="time">–</dd></div><div><dt>memory</dt><dd data-est="memory">–</dd></div></dl>
            <p class="hint" id="estimate-note">Figures appear once the form is valid.</p></section></aside>
            </div>
            """
    }

    /// A labelled control with its one-line explanation.
    static func field(_ name: String, _ label: String, _ control: HTML, _ hint: String) -> HTML {
        """
        <div class="field" data-field="\(name)"><label for="f-\(name)">\(label)</label>\(control)<p class="hint">\(hint)</p>
        <p class="field-error" data-error-for="\(name)" hidden></p></div>
        """
    }

    /// A number input with its range, for `field`.
    static func number(_ name: String, _ label: String, _ value: Double?, min: Double, max: Double, step: Any, _ hint: String) -> HTML {
        // Whole numbers without ".0", so the range the page quotes in its messages reads as typed.
        func text(_ v: Double) -> String { v == v.rounded() && abs(v) < 1e16 ? String(Int(v)) : String(v) }
        return field(name, label, """
            <input type="number" id="f-\(name)" name="\(name)" value="\(value.map(text) ?? "")" min="\(text(min))" max="\(text(max))" step="\(String(describing: step))"\
            \(value == nil ? HTML("") : HTML(" required"))>
            """, hint)
    }
}
