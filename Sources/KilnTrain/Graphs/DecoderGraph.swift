// The RMSNorm pre-norm decoders as a training graph: LLaMA and its derivatives (mistral, qwen2, qwen3, GGUF files of
// them), GLM-4 (fused gate|up, partial interleaved RoPE) and the ChatGLM checkpoint layout (fused q|k|v and gate|up
// under `transformer.encoder`). The same computation as KilnModels' `LlamaModel`/`GLMModel` (transformers' eager
// forward), recorded on a tape so gradients reach the LoRA pairs; module paths are the checkpoint's, so adapters
// carry the names PEFT gives that checkpoint.
import KilnModels
import KilnTensor

/// Where a decoder's tensors live and which of them are fused.
struct DecoderLayout {
    /// Layer path prefix (`model.layers`), attention and MLP sub-paths.
    var layers = "model.layers", attention = "self_attn", mlp = "mlp"
    /// The projections: separate q/k/v, or one fused q|k|v module (ChatGLM's `query_key_value`).
    var query = "q_proj", key = "k_proj", value = "v_proj", fusedQKV: String?
    var output = "o_proj"
    /// Separate gate/up, or one fused gate|up module (gate rows first).
    var gate = "gate_proj", up = "up_proj", fusedGateUp: String?
    var down = "down_proj"
    var inputNorm = "input_layernorm", postAttentionNorm = "post_attention_layernorm"
    var embedding = "model.embed_tokens.weight", finalNorm = "model.norm.weight", head = "lm_head"

    /// transformers' GLM-4 names.
    static let glm = DecoderLayout(fusedGateUp: "gate_up_proj")
    /// The ChatGLM2/3 and glm-4-9b-chat checkpoint names (Tests/Fixtures/README.md §9.1).
    static let chatGLM = DecoderLayout(layers: "transformer.encoder.layers", attention: "self_attention", fusedQKV: "query_key_value",
                                       output: "dense", fusedGateUp: "dense_h_to_4h", down: "dense_4h_to_h",
                                       embedding: "transformer.embedding.word_embeddings.weight",
                                       finalNorm: "transformer.encoder.final_layernorm.weight", head: "transformer.output_layer")
}

/// The shape of one decoder, from its family's configuration.
struct DecoderShape {
    var hidden, intermediate, layers, heads, kvHeads, headDim, vocabulary: Int
    var eps: Float
    var qkvBias, outputBias, mlpBias, qkNorm: Bool
    var window: Int?
    var inverseFrequencies: [Float]
    var ropeScaling: Float = 1
    var ropeLayout: RoPELayout
    var layout = DecoderLayout()

    /// LLaMA, Mistral, Qwen2, Qwen3.
    init(_ c: LlamaConfiguration) {
        (hidden, intermediate, layers, heads, kvHeads, headDim, vocabulary) =
            (c.hiddenSize, c.intermediateSize, c.layerCount, c.attentionHeads, c.kvHeads, c.headDim, c.vocabSize)
        (eps, qkvBias, outputBias, mlpBias, qkNorm, window) = (c.normEps, c.qkvBias, c.outputBias, c.mlpBias, c.qkNorm, c.slidingWindow)
        (inverseFrequencies, ropeScaling, ropeLayout) = (c.inverseFrequencies, c.ropeAttentionScaling, c.ropeLayout)
    }

    /// GLM-4, in transformers' layout or ChatGLM's.
    init(_ c: GLMConfiguration, layout: DecoderLayout) {
        (hidden, intermediate, layers, heads, kvHeads, headDim, vocabulary) =
            (c.hiddenSize, c.intermediateSize, c.layerCount, c.attentionHeads, c.kvHeads, c.headDim, c.vocabSize)
        (eps, qkvBias, outputBias, mlpBias, qkNorm, window) = (c.normEps, c.qkvBias, false, false, false, nil)
        (inverseFrequencies, ropeLayout, self.layout) = (c.inverseFrequencies, .interleaved, layout)
    }
}

/// A pre-norm RMSNorm decoder for training.
struct DecoderGraph: TrainingGraph {
    let shape: DecoderShape
    var linears: [String: TrainableLinear] = [:]
    let embedding: LinearWeight
    let norms: [(input: Tensor, postAttention: Tensor, q: Tensor?, k: Tensor?)]
    let finalNorm: Tensor
    let head: FrozenMatrix
    var recomputedLayers = 0

    var outputModules: Set<String> { [shape.layout.head] }
    var vocabularySize: Int { shape.vocabulary }

    /// Takes every tensor the shape implies from `tensors` (checkpoint names).
    init(_ s: DecoderShape, tensors: CheckpointTensors, nf4: NF4Options?) throws(ModelError) {
        shape = s
        let names = s.layout
        embedding = try tensors.takeLinear(names.embedding, [s.vocabulary, s.hidden])
        let (q, kv) = (s.heads * s.headDim, s.kvHeads * s.headDim)
        var norms: [(Tensor, Tensor, Tensor?, Tensor?)] = []
        for index in 0..<s.layers {
            let attention = "\(names.layers).\(index).\(names.attention)", mlp = "\(names.layers).\(index).\(names.mlp)"
            var shapes: [(String, Int, Int, Bool)] = [("\(attention).\(names.output)", s.hidden, q, s.outputBias),
                                                      ("\(mlp).\(names.down)", s.hidden, s.intermediate, s.mlpBias)]
            if let fused = names.fusedQKV {
                shapes.append(("\(attention).\(fused)", q + 2 * kv, s.hidden, s.qkvBias))
            } else {
                shapes += [("\(attention).\(names.query)", q, s.hidden, s.qkvBias), ("\(attention).\(names.key)", kv, s.hidden, s.qkvBias),
                           ("\(attention).\(names.value)", kv, s.hidden, s.qkvBias)]
            }
            if let fused = names.fusedGateUp {
                shapes.append(("\(mlp).\(fused)", 2 * s.intermediate, s.hidden, s.mlpBias))
            } else {
                shapes += [("\(mlp).\(names.gate)", s.intermediate, s.hidden, s.mlpBias), ("\(mlp).\(names.up)", s.intermediate, s.hidden, s.mlpBias)]
            }
            for (module, outputs, inputs, bias) in shapes {
                linears[module] = try tensors.linear(module, outputs: outputs, inputs: inputs, bias: bias, nf4: nf4)
            }
            let layer = "\(names.layers).\(index)"
            norms.append((try tensors.take("\(layer).\(names.inputNorm).weight", [s.hidden]),
                          try tensors.take("\(layer).\(names.postAttentionNorm).weight", [s.hidden]),
                          s.qkNorm ? try tensors.take("\(attention).q_norm.weight", [s.headDim]) : nil,
                          s.qkNorm ? try tensors.take("\(attention).k_norm.weight", [s.headDim]) : nil))
        }
        self.norms = norms
        finalNorm = try tensors.take(names.finalNorm, [s.hidden])
        head = FrozenMatrix(try tensors.takeLinear("\(names.head).weight", [s.vocabulary, s.hidden]))
    }

    func hiddenStates(_ batch: TokenBatch, tape: Tape, dropout: inout DropoutSource?) throws -> Variable {
        try validate(batch)
        let s = shape
        let rope = RoPE.table(positions: batch.positions, inverseFrequencies: s.inverseFrequencies, attentionScaling: s.ropeScaling)
        var options = AttentionOptions(causal: true, keyMask: batch.keyMask, window: s.window)
        options.fullyMaskedUniform = true
        var x = tape.constant(embedding.gather(Array(batch.inputIds.joined())).reshaped([batch.rows, batch.steps, s.hidden]))
        for index in norms.indices {
            let block = { (tape: Tape, x: Variable, dropout: inout DropoutSource?) in
                self.layer(index, x, tape: tape, rope: rope, options: options, dropout: &dropout)
            }
            x = index < recomputedLayers ? tape.checkpoint(x, dropout: &dropout, block) : block(tape, x, &dropout)
        }
        return tape.rmsNorm(x, weight: finalNorm, eps: s.eps)
    }

    /// Decoder layer `index`: x (B, T, C) → (B, T, C).
    private func layer(_ index: Int, _ x: Variable, tape: Tape, rope: RoPETable, options: AttentionOptions,
                       dropout: inout DropoutSource?) -> Variable {
        let s = shape, names = s.layout, norm = norms[index]
        let attention = "\(names.layers).\(index).\(names.attention)", mlp = "\(names.layers).\(index).\(names.mlp)"
        func linear(_ input: Variable, _ module: String) -> Variable { tape.linear(input, linears[module]!, dropout: &dropout) }
        func heads(_ y: Variable, count: Int, norm: Tensor?) -> Variable {
            var y = y
            if let norm {
                // Qwen3 normalises each head's D values before the transpose.
                let shape = y.value.shape
                y = tape.reshape(tape.rmsNorm(tape.reshape(y, [y.value.count / s.headDim, s.headDim]), weight: norm, eps: s.eps), shape)
            }
            return tape.rope(tape.splitHeads(y, heads: count), table: rope, layout: s.ropeLayout)
        }
        let h = tape.rmsNorm(x, weight: norm.input, eps: s.eps)
        var (query, key, value): (Variable, Variable, Variable)
        if let fused = names.fusedQKV {
            let qkv = linear(h, "\(attention).\(fused)"), (q, kv) = (s.heads * s.headDim, s.kvHeads * s.headDim)
            (query, key, value) = (tape.slice(qkv, columns: 0..<q), tape.slice(qkv, columns: q..<(q + kv)),
                                   tape.slice(qkv, columns: (q + kv)..<(q + 2 * kv)))
        } else {
            (query, key, value) = (linear(h, "\(attention).\(names.query)"), linear(h, "\(attention).\(names.key)"),
                                   linear(h, "\(attention).\(names.value)"))
        }
        let attended = tape.attention(query: heads(query, count: s.heads, norm: norm.q), key: heads(key, count: s.kvHeads, norm: norm.k),
                                      value: tape.splitHeads(value, heads: s.kvHeads), options: options)
        let x = tape.add(x, linear(tape.mergeHeads(attended), "\(attention).\(names.output)"))
        let h2 = tape.rmsNorm(x, weight: norm.postAttention, eps: s.eps)
        let gated = if let fused = names.fusedGateUp {
            tape.swiglu(fused: linear(h2, "\(mlp).\(fused)"))
        } else {
            tape.swiglu(gate: linear(h2, "\(mlp).\(names.gate)"), up: linear(h2, "\(mlp).\(names.up)"))
        }
        return tape.add(x, linear(gated, "\(mlp).\(names.down)"))
    }
}
