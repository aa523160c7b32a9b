// Continuous batching moves sequences in and out of a running batch: a sequence prefilled alone joins the batch's
// cache, a finished one leaves it. Rows are aligned at the right: a shorter history is left-padded with masked steps,
// exactly as a left-padded batch is, so each row's positions (the mask's running count) and attention stay its own.
import KilnTensor

extension LlamaCache {
    /// A cache holding row `row` of each part's cache, in order, every history right-aligned to the longest one.
    /// - Precondition: every part has the same layer count and has decoded at least one step.
    public static func combine(_ parts: [(cache: LlamaCache, row: Int)]) -> LlamaCache {
        let length = parts.map(\.cache.length).max() ?? 0
        var combined = LlamaCache(layers: parts.first?.cache.layers.count ?? 0, batch: parts.count)
        combined.attentionMask = parts.map { Array(repeating: 0, count: length - $0.cache.length) + $0.cache.attentionMask[$0.row] }
        for layer in combined.layers.indices {
            combined.layers[layer] = LayerKVCache.gather(parts.map { ($0.cache.layers[layer], $0.row, length - $0.cache.length) }, count: length)
        }
        return combined
    }

    /// The cache of rows `rows` only (the others have finished).
    public func keeping(rows: [Int]) -> LlamaCache {
        LlamaCache.combine(rows.map { (self, $0) })
    }
}

extension LayerKVCache {
    /// A (B = sources.count) cache of `count` steps: row b is row `row` of source b, its steps placed `shift` later.
    static func gather(_ sources: [(cache: LayerKVCache, row: Int, shift: Int)], count: Int) -> LayerKVCache {
        let capacity = Swift.max(count, 16)
        func build(_ pick: (LayerKVCache) -> Tensor?) -> Tensor {
            let first = pick(sources[0].cache)!
            let (heads, width) = (first.shape[1], first.shape[3])
            var out = Tensor(zeros: [sources.count, heads, capacity, width])
            out.withMutablePointer { target in
                for (b, source) in sources.enumerated() {
                    let tensor = pick(source.cache)!
                    let rows = tensor.shape[2]
                    tensor.withPointer { from in
                        for h in 0..<heads {
                            let src = from + ((source.row * heads + h) * rows) * width
                            let dst = target + ((b * heads + h) * capacity + source.shift) * width
                            dst.update(from: src, count: source.cache.count * width)
                        }
                    }
                }
            }
            return out
        }
        return LayerKVCache(keys: build(\.keys), values: build(\.values), count: count)
    }
}
