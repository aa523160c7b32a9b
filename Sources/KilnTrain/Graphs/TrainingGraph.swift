// What every family's training graph provides: its linear layers by module path (where LoRA attaches) and a
// forward pass on a tape from token ids to logits, as transformers' eager forward computes it.
import Foundation
import KilnModels
import KilnTensor

/// One micro-batch: ids, attention mask and labels (B, T); position ids when the caller passes them (left padding).
public struct TokenBatch: Sendable, Equatable {
    /// Token ids.
    public var inputIds: [[Int]]
    /// 1 for a real token, 0 for padding.
    public var attentionMask: [[Int]]
    /// Labels (-100 where no loss is taken), unshifted as HF takes them.
    public var labels: [[Int]]
    /// Explicit positions; nil for 0..<T in every row (what a model gets without `position_ids`).
    public var positionIds: [[Int]]?

    /// A batch.
    public init(inputIds: [[Int]], attentionMask: [[Int]], labels: [[Int]], positionIds: [[Int]]? = nil) {
        self.inputIds = inputIds
        self.attentionMask = attentionMask
        self.labels = labels
        self.positionIds = positionIds
    }

    /// B.
    public var rows: Int { inputIds.count }
    /// T.
    public var steps: Int { inputIds.first?.count ?? 0 }
    /// Labels that count after the shift (what Trainer's `num_items_in_batch` sums).
    public var labelTokens: Int { labels.reduce(0) { $0 + $1.dropFirst().filter { $0 != ignoredLabel }.count } }
    /// Real tokens, for throughput.
    public var realTokens: Int { attentionMask.reduce(0) { $0 + $1.reduce(0, +) } }

    /// The positions to use: given, or 0..<T.
    var positions: [Int] {
        if let positionIds { return Array(positionIds.joined()) }
        return Array(Array(repeating: Array(0..<steps), count: rows).joined())
    }

    /// (B·T) true for real tokens.
    var keyMask: [Bool] { attentionMask.joined().map { $0 == 1 } }
}

/// A family's network as a differentiable graph over frozen base weights, with LoRA pairs attached to its linears.
public protocol TrainingGraph {
    /// The linear layers LoRA may adapt, by module path.
    var linears: [String: TrainableLinear] { get set }
    /// Module paths of linears `all-linear` leaves out (the output layer, as PEFT does).
    var outputModules: Set<String> { get }
    /// V.
    var vocabularySize: Int { get }
    /// True when the checkpoint stores its linears [in, out] (GPT-2's Conv1D): saved adapters say `fan_in_fan_out`.
    var fanInFanOut: Bool { get }
    /// Fused expert tensors PEFT adapts in place (`target_parameters`), each held here as one linear per expert.
    var fusedExperts: [FusedExperts] { get }
    /// Module names PEFT turns into `target_parameters` for this model (transformers 5 fuses the routed experts).
    var parameterAliases: [String: String] { get }
    /// How many blocks, from the first, recompute their forward in backward instead of keeping their activations
    /// (0: none; at least the block count: all).
    var recomputedLayers: Int { get set }
    /// The frozen output layer (V, C): the LM head, tied to the embedding where the checkpoint ties it.
    var head: FrozenMatrix { get }
    /// The final hidden states (B, T, C) of `batch` on `tape`, after the last norm; `dropout` draws adapter dropout
    /// masks while recording.
    func hiddenStates(_ batch: TokenBatch, tape: Tape, dropout: inout DropoutSource?) throws -> Variable
}

extension TrainingGraph {
    /// Gradient checkpointing of every block (true) or of none (false).
    public var gradientCheckpointing: Bool {
        get { recomputedLayers > 0 }
        set { recomputedLayers = newValue ? Int.max : 0 }
    }

    /// Logits (B, T, V) of `batch`, for inspection and tests; training takes its loss through `loss`, which never
    /// holds them whole.
    public func logits(_ batch: TokenBatch, tape: Tape, dropout: inout DropoutSource?) throws -> Variable {
        let hidden = try hiddenStates(batch, tape: tape, dropout: &dropout)
        return tape.linear(hidden, TrainableLinear(module: "lm_head", weight: head, bias: nil), dropout: &dropout)
    }

    /// The causal-LM loss of `batch` divided by `divisor` (see `Tape.causalLMLoss`), with its undivided sum and token count.
    public func loss(_ batch: TokenBatch, tape: Tape, divisor: Float, dropout: inout DropoutSource?) throws -> (loss: Variable, sum: Double, tokens: Int) {
        let hidden = try hiddenStates(batch, tape: tape, dropout: &dropout)
        return tape.causalLMLoss(hidden: hidden, head: head, labels: batch.labels, divisor: divisor)
    }
}

/// E experts' (out, in) matrices that transformers 5 stores as one (E, out, in) parameter, `<container>.<parameter>`.
public struct FusedExperts: Sendable, Equatable {
    /// PEFT's path of the module holding the parameter (`model.layers.1.mlp.experts`) and the parameter's name.
    public let container: String
    public let parameter: String
    /// The graph's linear of each expert, in expert order.
    public let linears: [String]
    /// One expert's (out, in).
    public let outputs: Int, inputs: Int
}

/// Why a base model cannot be trained as asked.
public enum TrainingGraphError: Error, Equatable, Sendable {
    /// The base's `model_type` has no training graph yet.
    case unsupportedFamily(String)
    /// `target_modules` names nothing in the model.
    case noTargetModules([String], available: [String])
    /// An input the graph cannot run (bad ids, ragged rows).
    case invalidBatch(String)
}

extension TrainingGraphError: LocalizedError {
    /// A sentence naming the family, modules or input at fault.
    public var errorDescription: String? {
        switch self {
        case .unsupportedFamily(let type): "Training is not supported for model_type \"\(type)\" yet."
        case .noTargetModules(let targets, let available):
            "--target-modules \(targets.joined(separator: ",")) matches no linear layer; the model has: \(available.joined(separator: ", "))."
        case .invalidBatch(let reason): "Invalid training batch: \(reason)."
        }
    }
}

extension TrainingGraph {
    /// Linears are stored [out, in] unless a graph says otherwise.
    var fanInFanOut: Bool { false }
    /// No fused experts unless a graph has them.
    var fusedExperts: [FusedExperts] { [] }
    var parameterAliases: [String: String] { [:] }

    /// Checks ids against the vocabulary and the batch for rectangular rows.
    /// - Throws: `TrainingGraphError.invalidBatch`.
    func validate(_ batch: TokenBatch) throws(TrainingGraphError) {
        let steps = batch.steps
        guard batch.rows > 0, steps > 0 else { throw .invalidBatch("empty batch") }
        for (row, ids) in batch.inputIds.enumerated() {
            guard ids.count == steps, batch.attentionMask[row].count == steps, batch.labels[row].count == steps else {
                throw .invalidBatch("row \(row) is not \(steps) long")
            }
            if let bad = ids.first(where: { $0 < 0 || $0 >= vocabularySize }) { throw .invalidBatch("token id \(bad) outside the vocabulary") }
            if let bad = batch.labels[row].first(where: { $0 != ignoredLabel && ($0 < 0 || $0 >= vocabularySize) }) {
                throw .invalidBatch("label \(bad) outside the vocabulary")
            }
        }
    }

    /// The short module names present (the last path component), for error messages.
    public var moduleKinds: [String] {
        Array(Set(linears.keys.map { String($0.split(separator: ".").last ?? "") })).sorted()
    }
}

/// Builds the training graph of a base checkpoint.
public enum TrainingGraphs {
    /// The graph for `checkpoint`'s architecture; `nf4` re-encodes every decoder linear as bitsandbytes NF4 (QLoRA).
    /// - Throws: `ModelError` for missing or misshapen tensors.
    public static func make(_ checkpoint: BaseCheckpoint, nf4: NF4Options? = nil) throws -> any TrainingGraph {
        switch checkpoint.architecture {
        case .llama(let configuration): try DecoderGraph(DecoderShape(configuration), tensors: checkpoint.tensors, nf4: nf4)
        case .glm(let configuration): try DecoderGraph(DecoderShape(configuration, layout: .glm), tensors: checkpoint.tensors, nf4: nf4)
        case .chatGLM(let configuration): try DecoderGraph(DecoderShape(configuration, layout: .chatGLM), tensors: checkpoint.tensors, nf4: nf4)
        case .gpt2(let configuration): try GPT2Graph(configuration: configuration, tensors: checkpoint.tensors, nf4: nf4)
        case .bloom(let configuration): try BloomGraph(configuration: configuration, tensors: checkpoint.tensors, nf4: nf4)
        case .deepseekV3(let configuration): try DeepSeekV3Graph(configuration: configuration, tensors: checkpoint.tensors, nf4: nf4)
        }
    }
}

/// QLoRA's NF4 settings.
public struct NF4Options: Sendable, Equatable {
    /// Quantise the absmax values again in 256-blocks.
    public var doubleQuantization: Bool

    /// Options.
    public init(doubleQuantization: Bool) { self.doubleQuantization = doubleQuantization }
}

extension CheckpointTensors {
    /// `<module>.weight` (and `<module>.bias` when `bias`) as a frozen linear: kept in its stored encoding, or NF4 when asked.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape`.
    func linear(_ module: String, outputs: Int, inputs: Int, bias: Bool, nf4: NF4Options?) throws(ModelError) -> TrainableLinear {
        var weight = FrozenMatrix(try takeLinear("\(module).weight", [outputs, inputs]))
        if let nf4, (outputs * inputs) % 64 == 0 {
            weight = .nf4(NF4Matrix(quantizing: weight.dequantized().storage, rows: outputs, columns: inputs,
                                    doubleQuantization: nf4.doubleQuantization))
        }
        return TrainableLinear(module: module, weight: weight, bias: bias ? try take("\(module).bias", [outputs]) : nil)
    }
}
