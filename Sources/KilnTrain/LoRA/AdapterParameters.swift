// The trainable LoRA pairs of a run: which linears `target_modules` picks (PEFT's matching), their initial values
// (PEFT's init, or an existing adapter's tensors) and the way back to a saveable PEFT adapter.
import Foundation
import KilnModels
import KilnTensor

/// Every trainable tensor of a run, two per adapted module, in module order with A before B.
public struct AdapterParameters {
    /// The configuration the run trains with.
    public let config: LoRAConfig
    /// Adapted module paths, in order.
    public let modules: [String]
    /// A and B of each module, in `modules` order.
    public let parameters: [Parameter]

    /// Modules of `graph` that `targets` selects, as PEFT matches them: `all-linear` is every linear but the output layer;
    /// otherwise a module matches a target equal to its path or to its last components (`q_proj`, `self_attn.q_proj`).
    public static func targetedModules(_ graph: any TrainingGraph, targets: [String]) -> [String] {
        let names = graph.linears.keys.sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        if targets == ["all-linear"] { return names.filter { !graph.outputModules.contains($0) } }
        return names.filter { name in targets.contains { name == $0 || name.hasSuffix("." + $0) } }
    }

    /// Attaches a pair to every targeted linear of `graph`: from `initial`'s tensors when given (its configuration is
    /// ignored: `config` wins), else PEFT's init (A Kaiming-uniform with a = √5, i.e. U(−1/√in, 1/√in); B zero) drawn
    /// from `seed`.
    /// - Throws: `TrainingGraphError.noTargetModules`, or `LoRAError.badTensor` for an initial adapter that lacks a
    ///   targeted module or whose shapes differ.
    public static func attach(to graph: inout any TrainingGraph, config: LoRAConfig, initial: LoRAAdapter? = nil,
                              seed: UInt64 = 0) throws -> AdapterParameters {
        var config = config
        config.fanInFanOut = graph.fanInFanOut
        let modules = targetedModules(graph, targets: config.targetModules)
        guard !modules.isEmpty else { throw TrainingGraphError.noTargetModules(config.targetModules, available: graph.moduleKinds) }
        let given = Dictionary((initial?.pairs ?? []).map { ($0.module, $0) }, uniquingKeysWith: { first, _ in first })
        if initial != nil, let extra = given.keys.sorted().first(where: { !modules.contains($0) }) {
            throw LoRAError.badTensor(name: LoRAAdapter.tensorNames(module: extra).a,
                                      reason: "the initial adapter adapts a module the run does not target")
        }
        var random = DropoutSource(seed: seed)
        var parameters: [Parameter] = []
        for module in modules {
            let layer = graph.linears[module]!
            let rank = LoRAConfig.match(config.rankPattern, module) ?? config.r
            let names = LoRAAdapter.tensorNames(module: module)
            var a: Tensor, b: Tensor
            if initial != nil {
                guard let pair = given[module] else {
                    throw LoRAError.badTensor(name: names.a, reason: "missing from the initial adapter, but the run targets \(module)")
                }
                guard pair.rank == rank, pair.inFeatures == layer.inputs, pair.outFeatures == layer.outputs else {
                    throw LoRAError.badTensor(name: names.a, reason: "shape r=\(pair.rank) [\(pair.outFeatures)×\(pair.inFeatures)] does not fit "
                                              + "r=\(rank) [\(layer.outputs)×\(layer.inputs)]")
                }
                a = Tensor(shape: [rank, layer.inputs], storage: pair.a)
                b = Tensor(shape: [layer.outputs, rank], storage: pair.b)
            } else {
                let bound = 1 / Float(layer.inputs).squareRoot()
                a = Tensor(shape: [rank, layer.inputs], storage: (0..<(rank * layer.inputs)).map { _ in
                    (Float(random.next() >> 40) / Float(1 << 24) * 2 - 1) * bound
                })
                b = Tensor(zeros: [layer.outputs, rank])
            }
            let pair = LoRAModule(a: Parameter(name: names.a, value: a), b: Parameter(name: names.b, value: b),
                                  scaling: Float(config.scaling(for: module)), dropout: Float(config.dropout))
            graph.linears[module]!.lora = pair
            parameters += [pair.a, pair.b]
        }
        return AdapterParameters(config: config, modules: modules, parameters: parameters)
    }

    /// The current values as a PEFT adapter (for saving or merging).
    public func adapter() -> LoRAAdapter {
        let pairs = modules.enumerated().map { index, module in
            let (a, b) = (parameters[2 * index].value, parameters[2 * index + 1].value)
            return LoRAPair(module: module, a: a.storage, b: b.storage, rank: a.shape[0], inFeatures: a.shape[1], outFeatures: b.shape[0],
                            scaling: Float(config.scaling(for: module)))
        }
        return LoRAAdapter(config: config, pairs: pairs)
    }

    /// Clears every gradient.
    public func zeroGradients() {
        for parameter in parameters { parameter.zeroGradient() }
    }
}
