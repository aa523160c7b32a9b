// DeepSeek-V3 as a training graph: multi-head latent attention and the sigmoid-routed mixture of experts of
// transformers' modeling_deepseek_v3.py (eager), the same computation as KilnModels' `DeepSeekV3Model`, on a tape.
// The expert choice is a discrete selection (no gradient, as in torch); the routing weights are differentiable and
// carry gradient back through the router into the hidden states.
import KilnModels
import KilnTensor

/// `DeepseekV3ForCausalLM` for training.
struct DeepSeekV3Graph: TrainingGraph {
    let configuration: DeepSeekV3Configuration
    var linears: [String: TrainableLinear] = [:]
    let embedding: Tensor
    let norms: [(input: Tensor, postAttention: Tensor, qA: Tensor?, kvA: Tensor)]
    let routers: [Int: (weight: FrozenMatrix, bias: Tensor)]
    let finalNorm: Tensor
    let head: FrozenMatrix
    var recomputedLayers = 0
    /// HF's fixed eps of the q_a and kv_a latent norms.
    static let latentEps: Float = 1e-6

    let fusedExperts: [FusedExperts]

    var outputModules: Set<String> { ["lm_head"] }
    var vocabularySize: Int { configuration.vocabSize }
    var parameterAliases: [String: String] { ["gate_proj": "gate_up_proj", "up_proj": "gate_up_proj", "down_proj": "down_proj"] }

    init(configuration c: DeepSeekV3Configuration, tensors: CheckpointTensors, nf4: NF4Options?) throws(ModelError) {
        configuration = c
        let m = c.mla, h = c.attentionHeads
        embedding = try tensors.take("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize])
        var norms: [(Tensor, Tensor, Tensor?, Tensor)] = []
        var routers: [Int: (FrozenMatrix, Tensor)] = [:]
        var linears: [String: TrainableLinear] = [:]
        var fused: [FusedExperts] = []
        func add(_ module: String, _ outputs: Int, _ inputs: Int, bias: Bool = false) throws(ModelError) {
            linears[module] = try tensors.linear(module, outputs: outputs, inputs: inputs, bias: bias, nf4: nf4)
        }
        func mlp(_ prefix: String, _ intermediate: Int) throws(ModelError) {
            try add("\(prefix).gate_proj", intermediate, c.hiddenSize)
            try add("\(prefix).up_proj", intermediate, c.hiddenSize)
            try add("\(prefix).down_proj", c.hiddenSize, intermediate)
        }
        for index in 0..<c.layerCount {
            let layer = "model.layers.\(index)", attention = "\(layer).self_attn"
            if let rank = m.qLoraRank {
                try add("\(attention).q_a_proj", rank, c.hiddenSize, bias: c.attentionBias)
                try add("\(attention).q_b_proj", h * c.qkHeadDim, rank)
            } else {
                try add("\(attention).q_proj", h * c.qkHeadDim, c.hiddenSize)
            }
            try add("\(attention).kv_a_proj_with_mqa", m.kvLoraRank + m.qkRopeHeadDim, c.hiddenSize, bias: c.attentionBias)
            try add("\(attention).kv_b_proj", h * (m.qkNopeHeadDim + m.vHeadDim), m.kvLoraRank)
            try add("\(attention).o_proj", c.hiddenSize, h * m.vHeadDim, bias: c.attentionBias)
            if index < c.moe.firstKDenseReplace {
                try mlp("\(layer).mlp", c.intermediateSize)
            } else {
                // Each routed expert as transformers 5 holds it: gate|up fused (gate rows first), then down.
                let (experts, inner) = (c.moe.routedExperts, c.moe.moeIntermediateSize)
                for e in 0..<experts {
                    let prefix = "\(layer).mlp.experts.\(e)"
                    let gateUp = try tensors.take("\(prefix).gate_proj.weight", [inner, c.hiddenSize]).storage
                        + tensors.take("\(prefix).up_proj.weight", [inner, c.hiddenSize]).storage
                    var weight = FrozenMatrix.dense(Tensor(shape: [2 * inner, c.hiddenSize], storage: gateUp))
                    if let nf4 {
                        weight = .nf4(NF4Matrix(quantizing: gateUp, rows: 2 * inner, columns: c.hiddenSize, doubleQuantization: nf4.doubleQuantization))
                    }
                    linears["\(prefix).gate_up_proj"] = TrainableLinear(module: "\(prefix).gate_up_proj", weight: weight, bias: nil)
                    try add("\(prefix).down_proj", c.hiddenSize, inner)
                }
                let container = "\(layer).mlp.experts"
                fused += [FusedExperts(container: container, parameter: "gate_up_proj", linears: (0..<experts).map { "\(container).\($0).gate_up_proj" },
                                       outputs: 2 * inner, inputs: c.hiddenSize),
                          FusedExperts(container: container, parameter: "down_proj", linears: (0..<experts).map { "\(container).\($0).down_proj" },
                                       outputs: c.hiddenSize, inputs: inner)]
                if c.moe.sharedExperts > 0 { try mlp("\(layer).mlp.shared_experts", c.moe.moeIntermediateSize * c.moe.sharedExperts) }
                routers[index] = (.dense(try tensors.take("\(layer).mlp.gate.weight", [c.moe.routedExperts, c.hiddenSize])),
                                  try tensors.take("\(layer).mlp.gate.e_score_correction_bias", [c.moe.routedExperts]))
            }
            norms.append((try tensors.take("\(layer).input_layernorm.weight", [c.hiddenSize]),
                          try tensors.take("\(layer).post_attention_layernorm.weight", [c.hiddenSize]),
                          m.qLoraRank == nil ? nil : try tensors.take("\(attention).q_a_layernorm.weight", [m.qLoraRank!]),
                          try tensors.take("\(attention).kv_a_layernorm.weight", [m.kvLoraRank])))
        }
        self.linears = linears
        fusedExperts = fused
        self.norms = norms
        self.routers = routers
        finalNorm = try tensors.take("model.norm.weight", [c.hiddenSize])
        head = .dense(try tensors.take("lm_head.weight", [c.vocabSize, c.hiddenSize]))
    }

    func hiddenStates(_ batch: TokenBatch, tape: Tape, dropout: inout DropoutSource?) throws -> Variable {
        try validate(batch)
        let c = configuration
        let rope = RoPE.table(positions: batch.positions, inverseFrequencies: c.inverseFrequencies, attentionScaling: c.ropeAttentionScaling)
        var options = AttentionOptions(causal: true, keyMask: batch.keyMask, scale: c.softmaxScale)
        options.fullyMaskedUniform = true
        let embedded = Embedding.forward(ids: Array(batch.inputIds.joined()), table: embedding)
        var x = tape.constant(embedded.reshaped([batch.rows, batch.steps, c.hiddenSize]))
        for (index, norm) in norms.enumerated() {
            let block = { (tape: Tape, x: Variable, dropout: inout DropoutSource?) throws -> Variable in
                var x = x
                let layer = "model.layers.\(index)"
                func linear(_ input: Variable, _ module: String) -> Variable { tape.linear(input, linears[module]!, dropout: &dropout) }
                let attended = attention(tape.rmsNorm(x, weight: norm.input, eps: c.normEps), norm: norm, prefix: "\(layer).self_attn",
                                         rope: rope, options: options, tape: tape, linear: linear)
                x = tape.add(x, attended)
                let normed = tape.rmsNorm(x, weight: norm.postAttention, eps: c.normEps)
                func mlp(_ input: Variable, _ prefix: String) -> Variable {
                    linear(tape.swiglu(gate: linear(input, "\(prefix).gate_proj"), up: linear(input, "\(prefix).up_proj")), "\(prefix).down_proj")
                }
                guard let router = routers[index] else {
                    return tape.add(x, mlp(normed, "\(layer).mlp"))
                }
                let tokens = batch.rows * batch.steps
                let flat = tape.reshape(normed, [tokens, c.hiddenSize])
                let logits = tape.linear(flat, TrainableLinear(module: "\(layer).mlp.gate", weight: router.weight, bias: nil), dropout: &dropout)
                let routing = DeepSeekV3Router.route(logits: logits.value, correctionBias: router.bias, moe: c.moe)
                let weights = tape.routingWeights(logits: logits, indices: routing.indices, normalize: c.moe.normTopkProb,
                                                  scale: Float(c.moe.routedScalingFactor))
                var routes = [[(token: Int, slot: Int)]](repeating: [], count: c.moe.routedExperts)
                for (token, chosen) in routing.indices.enumerated() {
                    for (slot, expert) in chosen.enumerated() { routes[expert].append((token, slot)) }
                }
                let outputs = routes.enumerated().map { e, route in
                    guard !route.isEmpty else { return tape.constant(Tensor(zeros: [0, c.hiddenSize])) }
                    let expert = "\(layer).mlp.experts.\(e)"
                    return linear(tape.swiglu(fused: linear(tape.gather(flat, rows: route.map(\.token)), "\(expert).gate_up_proj")), "\(expert).down_proj")
                }
                var y = tape.combineExperts(outputs, routes: routes, weights: weights, tokens: tokens)
                if c.moe.sharedExperts > 0 { y = tape.add(y, mlp(flat, "\(layer).mlp.shared_experts")) }
                x = tape.add(x, tape.reshape(y, x.value.shape))
                return x
            }
            x = index < recomputedLayers ? try tape.checkpoint(x, dropout: &dropout, block) : try block(tape, x, &dropout)
        }
        return tape.rmsNorm(x, weight: finalNorm, eps: c.normEps)
    }

    /// Multi-head latent attention of x (B, T, C) → (B, T, C).
    private func attention(_ x: Variable, norm: (input: Tensor, postAttention: Tensor, qA: Tensor?, kvA: Tensor), prefix: String,
                           rope: RoPETable, options: AttentionOptions, tape: Tape, linear: (Variable, String) -> Variable) -> Variable {
        let c = configuration, m = c.mla, h = c.attentionHeads
        let (nope, rot, valueDim) = (m.qkNopeHeadDim, m.qkRopeHeadDim, m.vHeadDim)
        let layout: RoPELayout = m.ropeInterleave ? .interleaved : .halfSplit
        let queries = if let qA = norm.qA {
            linear(tape.rmsNorm(linear(x, "\(prefix).q_a_proj"), weight: qA, eps: Self.latentEps), "\(prefix).q_b_proj")
        } else {
            linear(x, "\(prefix).q_proj")
        }
        let q = tape.splitHeads(queries, heads: h)
        let compressed = linear(x, "\(prefix).kv_a_proj_with_mqa")
        let latent = tape.rmsNorm(tape.slice(compressed, columns: 0..<m.kvLoraRank), weight: norm.kvA, eps: Self.latentEps)
        let kv = tape.splitHeads(linear(latent, "\(prefix).kv_b_proj"), heads: h)
        // Rotating the pairs in place (not de-interleaving first, as HF does) permutes q and k alike: same scores.
        let qRot = tape.rope(tape.slice(q, columns: nope..<(nope + rot)), table: rope, layout: layout)
        let kRot = tape.broadcastHeads(tape.rope(tape.splitHeads(tape.slice(compressed, columns: m.kvLoraRank..<(m.kvLoraRank + rot)), heads: 1),
                                                 table: rope, layout: layout), heads: h)
        // One width for q, k and v: zero columns change no score (the scale is explicit) and are cut from the output.
        let width = max(nope + rot, valueDim)
        func padded(_ parts: [Variable], _ used: Int) -> Variable {
            guard width > used else { return tape.concatenate(parts) }
            let shape = parts[0].value.shape
            return tape.concatenate(parts + [tape.constant(Tensor(zeros: Array(shape.dropLast()) + [width - used]))])
        }
        let queryStates = padded([tape.slice(q, columns: 0..<nope), qRot], nope + rot)
        let keyStates = padded([tape.slice(kv, columns: 0..<nope), kRot], nope + rot)
        let valueStates = padded([tape.slice(kv, columns: nope..<(nope + valueDim))], valueDim)
        let output = tape.attention(query: queryStates, key: keyStates, value: valueStates, options: options)
        return linear(tape.mergeHeads(tape.slice(output, columns: 0..<valueDim)), "\(prefix).o_proj")
    }
}
