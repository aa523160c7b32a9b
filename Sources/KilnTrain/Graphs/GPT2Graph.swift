// GPT-2 as a training graph: transformers' GPT2LMHeadModel (eager attention) on a tape. The Conv1D weights were
// transposed to Linear's layout when loaded, so LoRA's A [r, in] and B [out, r] apply as to any linear; the saved
// adapter says `fan_in_fan_out`, as PEFT's does for Conv1D.
import KilnModels
import KilnTensor

/// `GPT2LMHeadModel` for training.
struct GPT2Graph: TrainingGraph {
    let configuration: GPT2Configuration
    var linears: [String: TrainableLinear] = [:]
    let wte: Tensor, wpe: Tensor
    let norms: [(ln1: (Tensor, Tensor), ln2: (Tensor, Tensor))]
    let finalNorm: (Tensor, Tensor)
    let head: FrozenMatrix
    var recomputedLayers = 0

    var outputModules: Set<String> { ["lm_head"] }
    var vocabularySize: Int { configuration.vocabSize }
    var fanInFanOut: Bool { true }

    init(configuration c: GPT2Configuration, tensors: CheckpointTensors, nf4: NF4Options?) throws(ModelError) {
        configuration = c
        let (width, inner) = (c.hiddenSize, c.intermediateSize)
        func norm(_ prefix: String) throws(ModelError) -> (Tensor, Tensor) {
            (try tensors.take(prefix + ".weight", [width]), try tensors.take(prefix + ".bias", [width]))
        }
        wte = try tensors.take("transformer.wte.weight", [c.vocabSize, width])
        wpe = try tensors.take("transformer.wpe.weight", [c.maxPositions, width])
        var norms: [((Tensor, Tensor), (Tensor, Tensor))] = []
        for layer in 0..<c.layerCount {
            let p = "transformer.h.\(layer)"
            for (module, outputs, inputs) in [("attn.c_attn", 3 * width, width), ("attn.c_proj", width, width), ("mlp.c_fc", inner, width),
                                              ("mlp.c_proj", width, inner)] {
                linears["\(p).\(module)"] = try tensors.linear("\(p).\(module)", outputs: outputs, inputs: inputs, bias: true, nf4: nf4)
            }
            norms.append((try norm(p + ".ln_1"), try norm(p + ".ln_2")))
        }
        self.norms = norms
        finalNorm = try norm("transformer.ln_f")
        head = .dense(c.tieWordEmbeddings ? wte : try tensors.take("lm_head.weight", [c.vocabSize, width]))
    }

    func hiddenStates(_ batch: TokenBatch, tape: Tape, dropout: inout DropoutSource?) throws -> Variable {
        try validate(batch)
        let c = configuration
        let positions = batch.positions
        if let bad = positions.first(where: { $0 >= c.maxPositions }) {
            throw TrainingGraphError.invalidBatch("position \(bad) is past n_positions \(c.maxPositions)")
        }
        var embedded = Embedding.forward(ids: Array(batch.inputIds.joined()), table: wte)
        TensorMath.accumulate(Embedding.forward(ids: positions, table: wpe), into: &embedded)
        var x = tape.constant(embedded.reshaped([batch.rows, batch.steps, c.hiddenSize]))
        for (layer, norm) in norms.enumerated() {
            let block = { (tape: Tape, x: Variable, dropout: inout DropoutSource?) throws -> Variable in
                var x = x
                let p = "transformer.h.\(layer)"
                func linear(_ input: Variable, _ module: String) -> Variable { tape.linear(input, linears["\(p).\(module)"]!, dropout: &dropout) }
                var scale: Float = c.scaleAttentionWeights ? 1 / Float(c.hiddenSize / c.heads).squareRoot() : 1
                if c.scaleByInverseLayerIndex { scale /= Float(layer + 1) }
                var options = AttentionOptions(causal: true, keyMask: batch.keyMask, scale: scale)
                options.fullyMaskedUniform = true
                let qkv = linear(tape.layerNorm(x, weight: norm.ln1.0, bias: norm.ln1.1, eps: c.eps), "attn.c_attn")
                let parts = (0..<3).map { tape.splitHeads(tape.slice(qkv, columns: ($0 * c.hiddenSize)..<(($0 + 1) * c.hiddenSize)), heads: c.heads) }
                let attended = tape.attention(query: parts[0], key: parts[1], value: parts[2], options: options)
                x = tape.add(x, linear(tape.mergeHeads(attended), "attn.c_proj"))
                let hidden = linear(tape.layerNorm(x, weight: norm.ln2.0, bias: norm.ln2.1, eps: c.eps), "mlp.c_fc")
                x = tape.add(x, linear(tape.gelu(hidden, approximation: c.activation), "mlp.c_proj"))
                return x
            }
            x = layer < recomputedLayers ? try tape.checkpoint(x, dropout: &dropout, block) : try block(tape, x, &dropout)
        }
        return tape.layerNorm(x, weight: finalNorm.0, bias: finalNorm.1, eps: c.eps)
    }
}
