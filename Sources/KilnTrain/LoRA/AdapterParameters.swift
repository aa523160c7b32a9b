// The trainable LoRA pairs of a run: which linears `target_modules` picks (PEFT's matching) and which fused expert
// tensors `target_parameters` picks, their initial values (PEFT's init, or an existing adapter's tensors), and the
// way back to a saveable PEFT adapter.
import Foundation
import KilnModels
import KilnTensor

/// Every trainable tensor of a run: an A and a B per adapted module, in PEFT's names.
public struct AdapterParameters {
    /// One adapted module (or fused expert parameter) as PEFT names and shapes it.
    public struct Pair {
        /// PEFT's module path (`model.layers.0.self_attn.q_proj`, `model.layers.1.mlp.experts.base_layer`).
        public let module: String
        public let a: Parameter, b: Parameter
        public let scaling: Float
    }

    /// A per-expert slice of a fused pair, attached to that expert's linear: rows `e·r..<(e+1)·r` of A, columns
    /// `j·E + e` of B (PEFT reshapes A to (E, r, in) and B to (out, r, E)).
    struct ExpertView {
        let pair: Int, expert: Int, experts: Int, rank: Int
        let a: Parameter, b: Parameter
    }

    /// The configuration the run trains and saves (after PEFT's rewriting of fused-expert targets).
    public let config: LoRAConfig
    /// The pairs, in module order.
    public let pairs: [Pair]
    private let views: [ExpertView]

    /// A and B of each pair, in order: what the optimiser steps.
    public var parameters: [Parameter] { pairs.flatMap { [$0.a, $0.b] } }
    /// Adapted module paths, in order.
    public var modules: [String] { pairs.map(\.module) }

    /// Linears of `graph` that `targets` selects, as PEFT matches them: `all-linear` is every linear but the output layer;
    /// otherwise a module matches a target equal to its path or to its last components (`q_proj`, `self_attn.q_proj`).
    /// Linears that stand for fused expert tensors are parameters to PEFT, never modules.
    public static func targetedModules(_ graph: any TrainingGraph, targets: [String]) -> [String] {
        let experts = Set(graph.fusedExperts.flatMap(\.linears))
        let names = graph.linears.keys.filter { !experts.contains($0) }.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        if targets == ["all-linear"] { return names.filter { !graph.outputModules.contains($0) } }
        return names.filter { name in targets.contains { name == $0 || name.hasSuffix("." + $0) } }
    }

    /// `config` as PEFT 0.21 rewrites it for `graph`: module targets that name fused expert projections become
    /// `target_parameters` (gate_proj and up_proj → gate_up_proj, with r and alpha doubled for it), and GPT-2's Conv1D
    /// sets `fan_in_fan_out`.
    static func resolved(_ config: LoRAConfig, for graph: any TrainingGraph) -> LoRAConfig {
        var config = config
        config.fanInFanOut = graph.fanInFanOut
        let aliases = graph.parameterAliases
        guard !graph.fusedExperts.isEmpty, config.targetModules != ["all-linear"], config.targetModules.contains(where: { aliases[$0] != nil })
        else { return config }
        for target in config.targetModules {
            guard let parameter = aliases[target], !config.targetParameters.contains(parameter) else { continue }
            config.targetParameters.append(parameter)
            if parameter == "gate_up_proj" {
                config.rankPattern[".*\\.gate_up_proj"] = 2 * config.r
                config.alphaPattern[".*\\.gate_up_proj"] = 2 * config.alpha
            }
        }
        config.targetModules.removeAll { aliases[$0] != nil }
        return config
    }

    /// Attaches a pair to every targeted linear and fused expert parameter of `graph`: from `initial`'s tensors when
    /// given (its configuration is ignored: `config` wins), else PEFT's init (A Kaiming-uniform with a = √5, i.e.
    /// U(−1/√in, 1/√in); B zero) drawn from `seed`.
    /// - Throws: `TrainingGraphError.noTargetModules`, or `LoRAError.badTensor` for an initial adapter that lacks a
    ///   targeted module, adapts one the run does not target, or has other shapes.
    public static func attach(to graph: inout any TrainingGraph, config: LoRAConfig, initial: LoRAAdapter? = nil,
                              seed: UInt64 = 0) throws -> AdapterParameters {
        var config = resolved(config, for: graph)
        if config.targetModules == ["all-linear"] {
            // PEFT saves what `all-linear` resolved to: the adapted modules' names.
            config.targetModules = Set(targetedModules(graph, targets: ["all-linear"]).map { String($0.split(separator: ".").last!) }).sorted()
        }
        // (PEFT module path, rank, in, out, the linears it applies to: one, or one per expert).
        var targets: [(module: String, rank: Int, inputs: Int, outputs: Int, linears: [String])] = []
        for module in targetedModules(graph, targets: config.targetModules) {
            let layer = graph.linears[module]!
            targets.append((module, LoRAConfig.match(config.rankPattern, module) ?? config.r, layer.inputs, layer.outputs, [module]))
        }
        for container in Set(graph.fusedExperts.map(\.container)).sorted(by: { $0.compare($1, options: .numeric) == .orderedAscending }) {
            // PEFT wraps a module's parameters in definition order; each later wrapper holds the earlier one as `base_layer`.
            let chosen = graph.fusedExperts.filter { $0.container == container && config.targetParameters.contains($0.parameter) }
            for (index, fused) in chosen.enumerated() {
                let module = container + String(repeating: ".base_layer", count: chosen.count - 1 - index)
                let rank = LoRAConfig.match(config.rankPattern, "\(container).\(fused.parameter)") ?? config.r
                targets.append((module, rank, fused.inputs, fused.outputs, fused.linears))
            }
        }
        guard !targets.isEmpty else {
            throw TrainingGraphError.noTargetModules(config.targetModules + config.targetParameters, available: graph.moduleKinds)
        }
        let given = Dictionary((initial?.pairs ?? []).map { ($0.module, $0) }, uniquingKeysWith: { first, _ in first })
        if initial != nil, let extra = given.keys.sorted().first(where: { name in !targets.contains { $0.module == name } }) {
            throw LoRAError.badTensor(name: LoRAAdapter.tensorNames(module: extra).a, reason: "the initial adapter adapts a module the run does not target")
        }
        var random = DropoutSource(seed: seed)
        var pairs: [Pair] = [], views: [ExpertView] = []
        for target in targets {
            let experts = target.linears.count
            let (rows, columns) = (target.rank * experts, target.rank * experts)
            let names = LoRAAdapter.tensorNames(module: target.module)
            var a: Tensor, b: Tensor
            if initial != nil {
                guard let pair = given[target.module] else {
                    throw LoRAError.badTensor(name: names.a, reason: "missing from the initial adapter, but the run targets \(target.module)")
                }
                guard pair.rank == rows, pair.inFeatures == target.inputs, pair.outFeatures == target.outputs else {
                    throw LoRAError.badTensor(name: names.a, reason: "shape r=\(pair.rank) [\(pair.outFeatures)×\(pair.inFeatures)] does not fit "
                                              + "r=\(rows) [\(target.outputs)×\(target.inputs)]")
                }
                a = Tensor(shape: [rows, target.inputs], storage: pair.a)
                b = Tensor(shape: [target.outputs, columns], storage: pair.b)
            } else {
                let bound = 1 / Float(target.inputs).squareRoot()
                a = Tensor(shape: [rows, target.inputs], storage: (0..<(rows * target.inputs)).map { _ in
                    (random.nextUnit() * 2 - 1) * bound
                })
                b = Tensor(zeros: [target.outputs, columns])
            }
            let scalingKey = experts == 1 ? target.module : graph.fusedExperts.first { $0.linears == target.linears }.map { "\($0.container).\($0.parameter)" }!
            let pair = Pair(module: target.module, a: Parameter(name: names.a, value: a), b: Parameter(name: names.b, value: b),
                            scaling: Float(config.scaling(for: scalingKey)))
            let dropout = Float(config.dropout)
            if experts == 1 {
                graph.linears[target.linears[0]]!.lora = LoRAModule(a: pair.a, b: pair.b, scaling: pair.scaling, dropout: dropout)
            } else {
                for (expert, linear) in target.linears.enumerated() {
                    let view = ExpertView(pair: pairs.count, expert: expert, experts: experts, rank: target.rank,
                                          a: Parameter(name: "\(names.a)[\(expert)]", value: Tensor(zeros: [target.rank, target.inputs])),
                                          b: Parameter(name: "\(names.b)[\(expert)]", value: Tensor(zeros: [target.outputs, target.rank])))
                    graph.linears[linear]!.lora = LoRAModule(a: view.a, b: view.b, scaling: pair.scaling, dropout: dropout)
                    views.append(view)
                }
            }
            pairs.append(pair)
        }
        let parameters = AdapterParameters(config: config, pairs: pairs, views: views)
        parameters.syncViews()
        return parameters
    }

    /// The current values as a PEFT adapter (for saving or merging).
    public func adapter() -> LoRAAdapter {
        LoRAAdapter(config: config, pairs: pairs.map { pair in
            LoRAPair(module: pair.module, a: pair.a.value.storage, b: pair.b.value.storage, rank: pair.a.value.shape[0],
                     inFeatures: pair.a.value.shape[1], outFeatures: pair.b.value.shape[0], scaling: pair.scaling)
        })
    }

    /// Clears every gradient and copies the fused pairs' values into their per-expert views: call before a step's forward.
    public func beginStep() {
        for parameter in parameters { parameter.zeroGradient() }
        for view in views { view.a.zeroGradient(); view.b.zeroGradient() }
        syncViews()
    }

    /// Adds the per-expert views' gradients into their fused pairs: call after a step's last backward.
    public func endStep() {
        for view in views {
            let pair = pairs[view.pair]
            let (inputs, outputs, columns) = (view.a.value.shape[1], view.b.value.shape[0], view.rank * view.experts)
            for j in 0..<view.rank {
                for i in 0..<inputs { pair.a.gradient.storage[(view.expert * view.rank + j) * inputs + i] += view.a.gradient.storage[j * inputs + i] }
                for o in 0..<outputs { pair.b.gradient.storage[o * columns + j * view.experts + view.expert] += view.b.gradient.storage[o * view.rank + j] }
            }
        }
    }

    /// Copies the fused pairs' current values into the per-expert views (after an optimiser step, or a restore).
    public func syncViews() {
        for view in views {
            let pair = pairs[view.pair]
            let (inputs, outputs, columns) = (view.a.value.shape[1], view.b.value.shape[0], view.rank * view.experts)
            for j in 0..<view.rank {
                for i in 0..<inputs { view.a.value.storage[j * inputs + i] = pair.a.value.storage[(view.expert * view.rank + j) * inputs + i] }
                for o in 0..<outputs { view.b.value.storage[o * view.rank + j] = pair.b.value.storage[o * columns + j * view.experts + view.expert] }
            }
        }
    }
}
