// The feed-forward parts of transformers 5.24 `modeling_deepseek_v3.py`: DeepseekV3MLP (dense layers, shared and
// routed experts), DeepseekV3TopkRouter and DeepseekV3MoE (`route_tokens_to_experts`, noaux_tc group-limited top-k).
import Foundation
import KilnTensor

// MARK: - MLP

/// `DeepseekV3MLP`: down_proj(silu(gate_proj(x)) ⊙ up_proj(x)), no biases.
struct DeepSeekV3MLP: Sendable {
    var gateProj, upProj, downProj: LlamaLinear

    /// Loads `<prefix>.{gate,up,down}_proj.weight` for a C → intermediate → C MLP.
    init(_ tensors: CheckpointTensors, prefix: String, hidden: Int, intermediate: Int) throws(ModelError) {
        gateProj = try LlamaLinear(tensors, "\(prefix).gate_proj", outputs: intermediate, inputs: hidden, bias: false)
        upProj = try LlamaLinear(tensors, "\(prefix).up_proj", outputs: intermediate, inputs: hidden, bias: false)
        downProj = try LlamaLinear(tensors, "\(prefix).down_proj", outputs: hidden, inputs: intermediate, bias: false)
    }

    /// x (…, C) → (…, C).
    func callAsFunction(_ x: Tensor) -> Tensor { downProj(SwiGLU.forward(gate: gateProj(x), up: upProj(x))) }
}

/// A decoder layer's feed-forward: dense for the first `first_k_dense_replace` layers, experts after.
enum DeepSeekV3FeedForward: Sendable {
    /// `DeepseekV3MLP` with `intermediate_size`.
    case dense(DeepSeekV3MLP)
    /// `DeepseekV3MoE`.
    case experts(DeepSeekV3MoE)
}

// MARK: - Router

/// What one MoE layer's router decided for N = B·T tokens (flattened row-major, b·T + t).
public struct DeepSeekV3Routing: Sendable {
    /// (N, E) router logits x·Wᵀ in float32.
    public var logits: Tensor
    /// N rows of the selected experts, sorted ascending.
    public var indices: [[Int]]
    /// N rows of the matching weights (sigmoid scores, renormalised when `norm_topk_prob`, × routed_scaling_factor).
    public var weights: [[Float]]
}

/// `DeepseekV3TopkRouter` + `route_tokens_to_experts`: sigmoid scores, bias-corrected group-limited selection.
public struct DeepSeekV3Router: Sendable {
    /// (E, C).
    var weight: Tensor
    /// (E) `e_score_correction_bias`, used only to choose experts, never in their weights.
    var correctionBias: Tensor
    let moe: MoEConfiguration

    /// Loads `<prefix>.gate.weight` and `<prefix>.gate.e_score_correction_bias`.
    init(_ tensors: CheckpointTensors, prefix: String, _ c: DeepSeekV3Configuration) throws(ModelError) {
        moe = c.moe
        weight = try tensors.take("\(prefix).gate.weight", [c.moe.routedExperts, c.hiddenSize])
        correctionBias = try tensors.take("\(prefix).gate.e_score_correction_bias", [c.moe.routedExperts])
    }

    /// x (N, C) → the routing of each of the N tokens.
    func callAsFunction(_ x: Tensor) -> DeepSeekV3Routing {
        Self.route(logits: MatMul.forward(x, weight: weight), correctionBias: correctionBias, moe: moe)
    }

    /// The experts and weights HF's `route_tokens_to_experts` picks from router logits (tokens, E), for inference and training.
    public static func route(logits: Tensor, correctionBias: Tensor, moe: MoEConfiguration) -> DeepSeekV3Routing {
        let experts = moe.routedExperts, perGroup = moe.routedExperts / moe.groups
        let tokens = logits.count / experts
        var indices: [[Int]] = [], weights: [[Float]] = []
        for n in 0..<tokens {
            let scores = (0..<experts).map { 1 / (1 + Foundation.exp(-logits.storage[n * experts + $0])) }
            let biased = (0..<experts).map { scores[$0] + correctionBias.storage[$0] }
            // Group score = sum of its two best biased scores; keep the topk_group best groups.
            let groupScores = (0..<moe.groups).map { g -> Float in
                let best = Self.top(Array(biased[(g * perGroup)..<((g + 1) * perGroup)]), 2)
                return best.reduce(0) { $0 + biased[g * perGroup + $1] }
            }
            let keptGroups = Set(Self.top(groupScores, moe.topkGroup))
            // HF `masked_fill(~score_mask, 0.0)`: experts of dropped groups compete with score 0, not −∞.
            let choice = (0..<experts).map { keptGroups.contains($0 / perGroup) ? biased[$0] : 0 }
            let chosen = Self.top(choice, moe.expertsPerToken).sorted()
            var picked = chosen.map { scores[$0] }
            if moe.normTopkProb {
                let denominator = picked.reduce(0, +) + 1e-20
                picked = picked.map { $0 / denominator }
            }
            indices.append(chosen)
            weights.append(picked.map { $0 * Float(moe.routedScalingFactor) })
        }
        return DeepSeekV3Routing(logits: logits, indices: indices, weights: weights)
    }

    /// Indices of the k largest values, largest first (lower index first on ties).
    static func top(_ values: [Float], _ k: Int) -> [Int] {
        Array(values.indices.sorted { values[$0] > values[$1] || (values[$0] == values[$1] && $0 < $1) }.prefix(k))
    }
}

// MARK: - MoE

/// `DeepseekV3MoE`: Σ weightₑ · expertₑ(x) over the routed experts, plus the shared experts on every token.
struct DeepSeekV3MoE: Sendable {
    var gate: DeepSeekV3Router
    var experts: [DeepSeekV3MLP]
    var sharedExperts: DeepSeekV3MLP?

    /// Loads `<prefix>.gate…`, `<prefix>.experts.<e>.{gate,up,down}_proj` and `<prefix>.shared_experts…`.
    init(_ tensors: CheckpointTensors, prefix: String, _ c: DeepSeekV3Configuration) throws(ModelError) {
        let m = c.moe
        gate = try DeepSeekV3Router(tensors, prefix: prefix, c)
        experts = []
        for e in 0..<m.routedExperts {
            experts.append(try DeepSeekV3MLP(tensors, prefix: "\(prefix).experts.\(e)", hidden: c.hiddenSize,
                                             intermediate: m.moeIntermediateSize))
        }
        sharedExperts = m.sharedExperts > 0
            ? try DeepSeekV3MLP(tensors, prefix: "\(prefix).shared_experts", hidden: c.hiddenSize,
                                intermediate: m.moeIntermediateSize * m.sharedExperts)
            : nil
    }

    /// x (B, T, C) → (B, T, C) and the routing. Each expert runs once on the tokens that chose it (HF's loop).
    func callAsFunction(_ x: Tensor) -> (Tensor, DeepSeekV3Routing) {
        let width = x.shape.last!
        let tokens = x.count / width
        let flat = x.reshaped([tokens, width])
        let routing = gate(flat)
        var y = sharedExperts.map { $0(flat) } ?? Tensor(zeros: [tokens, width])
        var routed = Tensor(zeros: [tokens, width])
        for (e, expert) in experts.enumerated() {
            let hits = (0..<tokens).compactMap { n in routing.indices[n].firstIndex(of: e).map { (n, routing.weights[n][$0]) } }
            if hits.isEmpty { continue }
            var input = [Float]()
            for (n, _) in hits { input += flat.storage[(n * width)..<((n + 1) * width)] }
            let output = expert(Tensor(shape: [hits.count, width], storage: input))
            for (row, (n, weight)) in hits.enumerated() {
                for i in 0..<width { routed.storage[n * width + i] += output.storage[row * width + i] * weight }
            }
        }
        // HF: experts(hidden) + shared_experts(residuals).
        y = FamilyOps.add(routed, y)
        return (y.reshaped(x.shape), routing)
    }
}
