// The LLaMA-shaped decoders (llama, mistral, qwen2, qwen3, and GGUF files of them) as a training graph: the
// same computation as KilnModels' `LlamaModel` (transformers' modeling_llama.py with eager attention), recorded
// on a tape so gradients reach the LoRA pairs.
import KilnModels
import KilnTensor

/// `LlamaForCausalLM` for training.
struct LlamaGraph: TrainingGraph {
    let configuration: LlamaConfiguration
    var linears: [String: TrainableLinear] = [:]
    let embedTokens: LinearWeight
    let layerNorms: [(input: Tensor, postAttention: Tensor, q: Tensor?, k: Tensor?)]
    let norm: Tensor
    let lmHead: FrozenMatrix

    var outputModules: Set<String> { ["lm_head"] }
    var vocabularySize: Int { configuration.vocabSize }

    /// Takes every tensor the configuration implies from `tensors` (HF names).
    init(configuration c: LlamaConfiguration, tensors: CheckpointTensors, nf4: NF4Options?) throws(ModelError) {
        configuration = c
        embedTokens = try tensors.takeLinear("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize])
        var norms: [(Tensor, Tensor, Tensor?, Tensor?)] = []
        let (q, kv) = (c.attentionHeads * c.headDim, c.kvHeads * c.headDim)
        for index in 0..<c.layerCount {
            let prefix = "model.layers.\(index)"
            let shapes: [(String, Int, Int, Bool)] = [
                ("self_attn.q_proj", q, c.hiddenSize, c.qkvBias), ("self_attn.k_proj", kv, c.hiddenSize, c.qkvBias),
                ("self_attn.v_proj", kv, c.hiddenSize, c.qkvBias), ("self_attn.o_proj", c.hiddenSize, q, c.outputBias),
                ("mlp.gate_proj", c.intermediateSize, c.hiddenSize, c.mlpBias), ("mlp.up_proj", c.intermediateSize, c.hiddenSize, c.mlpBias),
                ("mlp.down_proj", c.hiddenSize, c.intermediateSize, c.mlpBias),
            ]
            for (name, outputs, inputs, bias) in shapes {
                let module = "\(prefix).\(name)"
                linears[module] = try tensors.linear(module, outputs: outputs, inputs: inputs, bias: bias, nf4: nf4)
            }
            norms.append((try tensors.take("\(prefix).input_layernorm.weight", [c.hiddenSize]),
                          try tensors.take("\(prefix).post_attention_layernorm.weight", [c.hiddenSize]),
                          c.qkNorm ? try tensors.take("\(prefix).self_attn.q_norm.weight", [c.headDim]) : nil,
                          c.qkNorm ? try tensors.take("\(prefix).self_attn.k_norm.weight", [c.headDim]) : nil))
        }
        layerNorms = norms
        norm = try tensors.take("model.norm.weight", [c.hiddenSize])
        lmHead = FrozenMatrix(try tensors.takeLinear("lm_head.weight", [c.vocabSize, c.hiddenSize]))
    }

    func logits(_ batch: TokenBatch, tape: Tape, dropout: inout DropoutSource?) throws -> Variable {
        try validate(batch)
        let c = configuration
        let rope = RoPE.table(positions: batch.positions, inverseFrequencies: c.inverseFrequencies, attentionScaling: c.ropeAttentionScaling)
        var options = AttentionOptions(causal: true, keyMask: batch.keyMask, window: c.slidingWindow)
        options.fullyMaskedUniform = true
        var x = tape.constant(embedTokens.gather(Array(batch.inputIds.joined())).reshaped([batch.rows, batch.steps, c.hiddenSize]))
        for (index, norms) in layerNorms.enumerated() {
            let prefix = "model.layers.\(index)"
            func linear(_ input: Variable, _ name: String) -> Variable { tape.linear(input, linears["\(prefix).\(name)"]!, dropout: &dropout) }
            func heads(_ y: Variable, count: Int, norm: Tensor?) -> Variable {
                var y = y
                if let norm {
                    // Qwen3 normalises each head's D values before the transpose.
                    let shape = y.value.shape
                    y = tape.reshape(tape.rmsNorm(tape.reshape(y, [y.value.count / c.headDim, c.headDim]), weight: norm, eps: c.normEps), shape)
                }
                return tape.rope(tape.splitHeads(y, heads: count), table: rope, layout: c.ropeLayout)
            }
            let h = tape.rmsNorm(x, weight: norms.input, eps: c.normEps)
            let q = heads(linear(h, "self_attn.q_proj"), count: c.attentionHeads, norm: norms.q)
            let k = heads(linear(h, "self_attn.k_proj"), count: c.kvHeads, norm: norms.k)
            let v = tape.splitHeads(linear(h, "self_attn.v_proj"), heads: c.kvHeads)
            let attended = tape.attention(query: q, key: k, value: v, options: options)
            x = tape.add(x, linear(tape.mergeHeads(attended), "self_attn.o_proj"))
            let h2 = tape.rmsNorm(x, weight: norms.postAttention, eps: c.normEps)
            let gated = tape.swiglu(gate: linear(h2, "mlp.gate_proj"), up: linear(h2, "mlp.up_proj"))
            x = tape.add(x, linear(gated, "mlp.down_proj"))
        }
        x = tape.rmsNorm(x, weight: norm, eps: c.normEps)
        return tape.linear(x, TrainableLinear(module: "lm_head", weight: lmHead, bias: nil), dropout: &dropout)
    }
}
