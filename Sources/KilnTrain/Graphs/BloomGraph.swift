// BLOOM as a training graph: transformers' BloomForCausalLM (ALiBi, word-embedding LayerNorm, tied head) on a tape.
// The fused query_key_value stays in its checkpoint layout (per head: q, k, v rows of D each), so a LoRA B on it has
// PEFT's row order; the heads are gathered out of it after the projection.
import KilnModels
import KilnTensor

/// `BloomForCausalLM` for training.
struct BloomGraph: TrainingGraph {
    let configuration: BloomConfiguration
    var linears: [String: TrainableLinear] = [:]
    let wordEmbeddings: Tensor
    let embeddingNorm: (Tensor, Tensor)
    let norms: [(input: (Tensor, Tensor), postAttention: (Tensor, Tensor))]
    let finalNorm: (Tensor, Tensor)
    let head: FrozenMatrix
    var recomputedLayers = 0
    let slopes: [Float]

    var outputModules: Set<String> { ["lm_head"] }
    var vocabularySize: Int { configuration.vocabSize }

    init(configuration c: BloomConfiguration, tensors: CheckpointTensors, nf4: NF4Options?) throws(ModelError) {
        configuration = c
        let width = c.hiddenSize
        func norm(_ prefix: String) throws(ModelError) -> (Tensor, Tensor) {
            (try tensors.take(prefix + ".weight", [width]), try tensors.take(prefix + ".bias", [width]))
        }
        wordEmbeddings = try tensors.take("transformer.word_embeddings.weight", [c.vocabSize, width])
        embeddingNorm = try norm("transformer.word_embeddings_layernorm")
        var norms: [((Tensor, Tensor), (Tensor, Tensor))] = []
        for layer in 0..<c.layerCount {
            let p = "transformer.h.\(layer)"
            for (module, outputs, inputs) in [("self_attention.query_key_value", 3 * width, width), ("self_attention.dense", width, width),
                                              ("mlp.dense_h_to_4h", 4 * width, width), ("mlp.dense_4h_to_h", width, 4 * width)] {
                linears["\(p).\(module)"] = try tensors.linear("\(p).\(module)", outputs: outputs, inputs: inputs, bias: true, nf4: nf4)
            }
            norms.append((try norm(p + ".input_layernorm"), try norm(p + ".post_attention_layernorm")))
        }
        self.norms = norms
        finalNorm = try norm("transformer.ln_f")
        head = .dense(c.tieWordEmbeddings ? wordEmbeddings : try tensors.take("lm_head.weight", [c.vocabSize, width]))
        slopes = ALiBi.slopes(heads: c.heads)
    }

    func hiddenStates(_ batch: TokenBatch, tape: Tape, dropout: inout DropoutSource?) throws -> Variable {
        try validate(batch)
        let c = configuration, width = c.hiddenSize, headDim = c.hiddenSize / c.heads
        let keyMask = batch.keyMask
        let alibi = ALiBi.bias(slopes: slopes, keyPositions: ALiBi.keyPositions(mask: keyMask, batch: batch.rows, steps: batch.steps),
                               batch: batch.rows)
        var options = AttentionOptions(causal: true, keyMask: keyMask, bias: alibi)
        options.fullyMaskedUniform = true
        // Column j of head h's part p (0 q, 1 k, 2 v) sits at h·3D + p·D + j in the fused output.
        let columns = (0..<3).map { part in (0..<c.heads).flatMap { h in (0..<headDim).map { h * 3 * headDim + part * headDim + $0 } } }
        let embedded = Embedding.forward(ids: Array(batch.inputIds.joined()), table: wordEmbeddings).reshaped([batch.rows, batch.steps, width])
        var x = tape.layerNorm(tape.constant(embedded), weight: embeddingNorm.0, bias: embeddingNorm.1, eps: c.eps)
        for (layer, norm) in norms.enumerated() {
            let block = { (tape: Tape, x: Variable, dropout: inout DropoutSource?) throws -> Variable in
                var x = x
                let p = "transformer.h.\(layer)"
                func linear(_ input: Variable, _ module: String) -> Variable { tape.linear(input, linears["\(p).\(module)"]!, dropout: &dropout) }
                let normed = tape.layerNorm(x, weight: norm.input.0, bias: norm.input.1, eps: c.eps)
                let qkv = linear(normed, "self_attention.query_key_value")
                let parts = columns.map { tape.splitHeads(tape.gather(qkv, columns: $0), heads: c.heads) }
                let attended = tape.attention(query: parts[0], key: parts[1], value: parts[2], options: options)
                let attention = tape.add(c.residualPostLayerNorm ? normed : x, linear(tape.mergeHeads(attended), "self_attention.dense"))
                let normedAttention = tape.layerNorm(attention, weight: norm.postAttention.0, bias: norm.postAttention.1, eps: c.eps)
                let hidden = tape.gelu(linear(normedAttention, "mlp.dense_h_to_4h"), approximation: .bloom)
                x = tape.add(c.residualPostLayerNorm ? normedAttention : attention, linear(hidden, "mlp.dense_4h_to_h"))
                return x
            }
            x = layer < recomputedLayers ? try tape.checkpoint(x, dropout: &dropout, block) : try block(tape, x, &dropout)
        }
        return tape.layerNorm(x, weight: finalNorm.0, bias: finalNorm.1, eps: c.eps)
    }
}
