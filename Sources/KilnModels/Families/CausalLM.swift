// What every family file provides: a causal language model loaded from an HF folder, its forward pass
// (logits and hidden states as transformers' `output_hidden_states=True` returns them), the typed error
// for checkpoints and inputs a family refuses, and the per-layer key/value cache used by generation.
import Foundation
import KilnKernels
import KilnTensor

/// The outputs of one forward pass, in transformers' `CausalLMOutputWithPast` order.
public struct CausalLMOutput: Sendable {
    /// (B, T, V) next-token logits.
    public var logits: Tensor
    /// L+1 tensors (B, T, C): i = 0 embeddings, 1..<L decoder layer outputs, L the final-norm output.
    public var hiddenStates: [Tensor]

    /// Wraps the two outputs.
    public init(logits: Tensor, hiddenStates: [Tensor]) {
        self.logits = logits
        self.hiddenStates = hiddenStates
    }
}

/// A decoder-only language model of one family, matching transformers' eager forward pass.
public protocol CausalLM: Sendable {
    /// Reads `config.json` and `model.safetensors` (or its sharded index) from an HF model folder.
    /// - Throws: `ConfigError`, `SafeTensorsError` or `ModelError` naming the key or tensor at fault.
    static func load(folder: URL) throws -> Self

    /// inputIds and attentionMask are (B, T) (mask 1 = real token, 0 = padding; nil = all ones); positionIds (B, T)
    /// or nil for the family's default. Returns logits (B, T, V) and the L+1 hidden states (B, T, C).
    /// - Throws: `ModelError.invalidInput` for ragged rows, out-of-vocabulary ids or out-of-range positions.
    func forward(inputIds: [[Int]], attentionMask: [[Int]]?, positionIds: [[Int]]?) throws -> CausalLMOutput
}

/// Why a family refused a checkpoint or an input; cases carry the tensor name or the offending value.
public enum ModelError: Error, Equatable, Sendable {
    /// config.json's `model_type` is not the family that was asked to load it.
    case wrongFamily(expected: String, found: String)
    /// A config option this family does not implement (named as in config.json).
    case unsupportedOption(key: String, value: String)
    /// The checkpoint lacks a tensor the family needs.
    case missingTensor(String)
    /// A tensor's stored shape differs from what the config implies.
    case wrongShape(tensor: String, expected: [Int], found: [Int])
    /// Inputs the forward pass cannot run on (ragged batch, id outside the vocabulary, position past the table).
    case invalidInput(reason: String)
}

extension ModelError: LocalizedError {
    /// A one-sentence explanation naming the tensor, option or input at fault.
    public var errorDescription: String? {
        switch self {
        case .wrongFamily(let expected, let found): "config.json says model_type \(found), not \(expected)."
        case .unsupportedOption(let key, let value): "The config option \(key) = \(value) is not supported."
        case .missingTensor(let name): "The checkpoint has no tensor named \(name)."
        case .wrongShape(let name, let expected, let found): "Tensor \(name) has shape \(found); the config implies \(expected)."
        case .invalidInput(let reason): "Invalid model input: \(reason)."
        }
    }
}

/// Sanitized checkpoint tensors, looked up with the shape the config implies.
public struct CheckpointTensors: Sendable {
    /// HF names (after the family's `sanitize`) to tensors.
    public var tensors: [String: Tensor]
    /// HF names to matrices kept in their stored encoding (a GGUF file's weights).
    public var quantized: [String: QuantizedMatrix] = [:]
    /// Unmerged LoRA updates by the weight name they apply to.
    public var adapters: AdapterUpdates = [:]
    /// Set by the GGUF loaders for the fast arithmetic: attention and GELU then round to float16 where llama.cpp does
    /// (its float16 KV cache and GELU table), so the quantised products see llama.cpp's activations.
    public var llamaCppNumerics = false

    /// Wraps tensors already under the names a family reads.
    public init(tensors: [String: Tensor], quantized: [String: QuantizedMatrix] = [:], adapters: AdapterUpdates = [:]) {
        self.tensors = tensors
        self.quantized = quantized
        self.adapters = adapters
    }

    /// Every name held, dense or stored.
    public var names: Set<String> { Set(tensors.keys).union(quantized.keys) }

    /// Every tensor of `weights`, widened to Float32.
    /// - Throws: `SafeTensorsError` from the reader.
    static func read(_ weights: WeightMap) throws -> [String: Tensor] {
        var all: [String: Tensor] = [:]
        for name in weights.names { all[name] = try weights.tensor(name) }
        return all
    }

    /// Every tensor of `weights`: 2-D F16/BF16 matrices kept in their stored encoding (for families whose
    /// projections take `takeLinear`), everything else widened to Float32.
    /// - Throws: `SafeTensorsError` from the reader.
    static func readKeepingHalfMatrices(_ weights: WeightMap) throws -> CheckpointTensors {
        var result = CheckpointTensors(tensors: [:])
        for name in weights.names {
            if let matrix = weights.storedMatrix(name) {
                result.quantized[name] = matrix
            } else {
                result.tensors[name] = try weights.tensor(name)
            }
        }
        return result
    }

    /// The tensor `name`, which must have exactly `shape`.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape`.
    public func take(_ name: String, _ shape: [Int]) throws(ModelError) -> Tensor {
        guard let tensor = tensors[name] ?? quantized[name].map({ $0.dequantized() }) else { throw .missingTensor(name) }
        guard tensor.shape == shape else { throw .wrongShape(tensor: name, expected: shape, found: tensor.shape) }
        return tensor
    }

    /// The (OC, C) matrix `name` as a linear weight, kept quantised when the file stores it so.
    /// - Throws: `ModelError.missingTensor` or `.wrongShape`.
    public func takeLinear(_ name: String, _ shape: [Int]) throws(ModelError) -> LinearWeight {
        if let matrix = quantized[name] {
            guard matrix.shape == shape else { throw .wrongShape(tensor: name, expected: shape, found: matrix.shape) }
            return .quantized(matrix)
        }
        return .dense(try take(name, shape))
    }
}

/// Checks a (B, T) batch before it reaches kernels that trap on bad indices.
enum BatchCheck {
    /// Returns (B, T) after checking that ids, mask and positions are rectangular and in range.
    /// - Throws: `ModelError.invalidInput` naming the row and value.
    static func dims(ids: [[Int]], mask: [[Int]]?, positions: [[Int]]?, vocabulary: Int, maxPosition: Int? = nil)
        throws(ModelError) -> (batch: Int, steps: Int) {
        guard let steps = ids.first?.count, steps > 0 else { throw .invalidInput(reason: "empty batch") }
        for (row, tokens) in ids.enumerated() {
            guard tokens.count == steps else { throw .invalidInput(reason: "row \(row) has \(tokens.count) ids, row 0 has \(steps)") }
            if let bad = tokens.first(where: { $0 < 0 || $0 >= vocabulary }) {
                throw .invalidInput(reason: "token id \(bad) in row \(row) is outside the vocabulary of \(vocabulary)")
            }
        }
        if let mask {
            guard mask.count == ids.count else { throw .invalidInput(reason: "attention mask has \(mask.count) rows for \(ids.count)") }
            for (row, values) in mask.enumerated() where !values.allSatisfy({ $0 == 0 || $0 == 1 }) {
                throw .invalidInput(reason: "attention mask row \(row) holds values other than 0 and 1")
            }
        }
        if let positions {
            guard positions.count == ids.count, positions.allSatisfy({ $0.count == steps }) else {
                throw .invalidInput(reason: "position ids are not (\(ids.count), \(steps))")
            }
            let limit = maxPosition ?? Int.max
            if let bad = positions.joined().first(where: { $0 < 0 || $0 >= limit }) {
                throw .invalidInput(reason: "position id \(bad) outside 0..<\(limit)")
            }
        }
        return (ids.count, steps)
    }
}

/// One layer's keys and values so far, in (B, KVH, capacity, D) buffers that grow by doubling, so appending a
/// step writes only that step (a copy of the whole cache per token would cost as much traffic as the weights).
public struct LayerKVCache: Sendable {
    /// (B, KVH, capacity, D) keys; rows past `count` are unused. Nil before the first step.
    public private(set) var keys: Tensor?
    /// (B, KVH, capacity, D) values, as `keys`.
    public private(set) var values: Tensor?
    /// Tpast, the steps held.
    public private(set) var count = 0
    /// Float16 copies of `keys` and `values` (same layout) for llama.cpp's numerics, which decoding steps read at half
    /// the bytes; rebuilt from the float32 buffers whenever they no longer match them in size.
    private var half: HalfKV?

    /// An empty cache.
    public init() {}

    /// A cache over given buffers, `count` steps of which are in use (continuous batching builds these).
    init(keys: Tensor, values: Tensor, count: Int) {
        (self.keys, self.values, self.count) = (keys, values, count)
    }

    /// Appends new keys and values (B, KVH, Tnew, D) and returns the buffers with the step count in use,
    /// for `AttentionOptions.keyCount`.
    public mutating func append(keys newKeys: Tensor, values newValues: Tensor) -> (keys: Tensor, values: Tensor, count: Int) {
        let (groups, steps, width) = (newKeys.shape[0] * newKeys.shape[1], newKeys.shape[2], newKeys.shape[3])
        let needed = count + steps
        let capacity = keys?.shape[2] ?? 0
        if needed > capacity {
            let grown = Swift.max(needed, 2 * capacity, 16)
            keys = Self.regrow(keys, shape: newKeys.shape, rows: count, capacity: grown)
            values = Self.regrow(values, shape: newValues.shape, rows: count, capacity: grown)
        }
        let rows = keys!.shape[2]
        Self.write(newKeys, into: &keys!, groups: groups, at: count, steps: steps, width: width, rows: rows)
        Self.write(newValues, into: &values!, groups: groups, at: count, steps: steps, width: width, rows: rows)
        count = needed
        return (keys!, values!, count)
    }

    /// Runs attention of `query` over this cache after appending the step's keys and values.
    public mutating func attend(query: Tensor, keys newKeys: Tensor, values newValues: Tensor, options: AttentionOptions) -> Tensor {
        var options = options
        let (keys, values, count): (Tensor, Tensor, Int)
        if options.halfPrecision {
            // llama.cpp's cache holds float16 keys and values: rounded here, and mirrored as float16 bits for decoding.
            (keys, values, count) = append(keys: HalfRounding.rounded(newKeys), values: HalfRounding.rounded(newValues))
            options.halfCache = mirrorHalf(steps: newKeys.shape[2])
        } else {
            (keys, values, count) = append(keys: newKeys, values: newValues)
        }
        options.keyCount = count
        return Attention.forward(query: query, key: keys, value: values, options: options).0
    }

    /// Attention from a fused q|k|v projection (B, T, 3·H·D) with H heads for all three (GPT-2, BLOOM):
    /// returns the heads merged back, (B, T, H·D), before the output projection.
    public mutating func attend(fusedQKV: Tensor, heads: Int, options: AttentionOptions) -> Tensor {
        let qkv = Heads.split(fusedQKV, parts: 3, heads: heads)
        return Heads.merge(attend(query: qkv[0], keys: qkv[1], values: qkv[2], options: options))
    }

    /// The float16 mirror after the last `steps` appended rows: those rows converted, or the whole buffers when the
    /// mirror is missing or was sized for another capacity.
    mutating func mirrorHalf(steps: Int) -> HalfKV {
        guard let keys, let values else { return HalfKV(keys: [], values: []) }
        let width = keys.shape[3], rows = keys.shape[2], groups = keys.shape[0] * keys.shape[1]
        guard var mirror = half, mirror.keys.count == keys.count else {
            let built = HalfKV(keys: HalfKV.bits(keys), values: HalfKV.bits(values))
            half = built
            return built
        }
        // Dropping the stored copy first leaves the mirror's buffers uniquely referenced, so they update in place.
        half = nil
        let first = count - steps
        func update(_ source: Tensor, _ target: inout [UInt16]) {
            source.withPointer { sp in
                target.withUnsafeMutableBufferPointer { hp in
                    for g in 0..<groups {
                        let offset = (g * rows + first) * width
                        kiln_to_f16(sp + offset, hp.baseAddress! + offset, steps * width)
                    }
                }
            }
        }
        update(keys, &mirror.keys)
        update(values, &mirror.values)
        half = mirror
        return mirror
    }

    /// A (B, KVH, capacity, D) buffer holding the first `rows` steps of `old`.
    static func regrow(_ old: Tensor?, shape: [Int], rows: Int, capacity: Int) -> Tensor {
        let (groups, width) = (shape[0] * shape[1], shape[3])
        var grown = Tensor(zeros: [shape[0], shape[1], capacity, width])
        guard let old else { return grown }
        let oldRows = old.shape[2]
        for g in 0..<groups {
            grown.storage.replaceSubrange((g * capacity * width)..<((g * capacity + rows) * width),
                                          with: old.storage[(g * oldRows * width)..<((g * oldRows + rows) * width)])
        }
        return grown
    }

    /// Copies (B, KVH, steps, D) into rows `at..<at + steps` of each slab of `buffer`.
    static func write(_ step: Tensor, into buffer: inout Tensor, groups: Int, at: Int, steps: Int, width: Int, rows: Int) {
        step.withPointer { source in
            buffer.withMutablePointer { target in
                for g in 0..<groups {
                    (target + (g * rows + at) * width).update(from: source + g * steps * width, count: steps * width)
                }
            }
        }
    }
}

/// Small tensor steps the family files share that KilnTensor has no kernel for.
enum FamilyOps {
    /// a + b elementwise (the residual add); same shapes.
    static func add(_ a: Tensor, _ b: Tensor) -> Tensor {
        precondition(a.shape == b.shape, "cannot add \(a.shape) and \(b.shape)")
        var sum = Tensor(unfilled: a.shape)
        a.withPointer { ap in b.withPointer { bp in sum.withMutablePointer { Vector.add(ap, bp, into: $0, a.count) } } }
        return sum
    }

    /// The last position of each row of x (B, T, C): (B, 1, C), what generation feeds the LM head (x itself when T = 1).
    static func lastStep(_ x: Tensor) -> Tensor {
        let (batch, steps, width) = (x.shape[0], x.shape[1], x.shape[2])
        if steps == 1 { return x }
        var storage = [Float]()
        for b in 0..<batch { storage += x.storage[((b * steps + steps - 1) * width)..<((b * steps + steps) * width)] }
        return Tensor(shape: [batch, 1, width], storage: storage)
    }

    /// The index of the largest of the V logits (first one on ties, as `torch.argmax`).
    static func argmax(_ logits: ArraySlice<Float>) -> Int {
        var best = logits.startIndex
        for i in logits.indices where logits[i] > logits[best] { best = i }
        return best - logits.startIndex
    }
}

/// A PyTorch `nn.Linear`: weight (OC, C), optional bias (OC).
struct LinearLayer: Sendable {
    /// (OC, C), PyTorch layout: Float32, or a GGUF file's blocks read in place.
    var weight: LinearWeight
    /// (OC) or nil.
    var bias: Tensor?
    /// LoRA updates added beside the frozen weight.
    var updates: [LowRankUpdate] = []

    /// x (…, C) → (…, OC).
    func callAsFunction(_ x: Tensor) -> Tensor {
        var y = weight.apply(x, bias: bias)
        for update in updates { update.add(to: &y, input: x) }
        return y
    }
}

/// A PyTorch `nn.LayerNorm` with affine weight and bias (C).
struct LayerNormLayer: Sendable {
    /// (C) scale.
    var weight: Tensor
    /// (C) shift.
    var bias: Tensor
    /// Added to the variance.
    var eps: Float

    /// x (…, C) → (…, C).
    func callAsFunction(_ x: Tensor) -> Tensor { LayerNorm.forward(x, weight: weight, bias: bias, eps: eps).0 }
}

extension FamilyOps {
    /// A (R, K) matrix transposed to (K, R); other ranks are returned unchanged so the shape check names them.
    static func transposed(_ m: Tensor) -> Tensor {
        guard m.rank == 2 else { return m }
        let (rows, columns) = (m.shape[0], m.shape[1])
        var t = Tensor(zeros: [columns, rows])
        for r in 0..<rows {
            for c in 0..<columns { t.storage[c * rows + r] = m.storage[r * columns + c] }
        }
        return t
    }
}
