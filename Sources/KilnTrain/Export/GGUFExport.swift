// A fine-tuned GGUF model: the base file's metadata (tokenizer, chat template, hyper-parameters) kept, every adapted
// matrix widened, W + scaling·B·A added in HF's row order (llama.cpp's q/k row permutation undone and redone), and
// every matrix written as F16, Q8_0 or Q4_1, so llama.cpp runs the merged model.
import Foundation
import KilnModels
import KilnTensor

/// Writes merged GGUF files.
public enum GGUFExport {
    /// What an export wrote.
    public struct Summary: Sendable {
        /// Tensors written, and how many of them the adapters changed.
        public var tensors: Int
        public var merged: Int
        /// File size in bytes.
        public var bytes: Int
    }

    /// Merges `adapters` into the GGUF `base` and writes `out` with its matrices as `quantization`.
    /// - Throws: `LoRAError.badTensor` for an adapted module the base lacks or a pair of the wrong shape, `GGUFError` or
    ///   `GGUFModelError` for an unreadable base, file-system errors.
    @discardableResult
    public static func merge(base: URL, adapters: [LoRAAdapter], into out: URL, quantization: ExportQuantization) throws -> Summary {
        let reader = try GGUFReader(url: base)
        let config = try GGUFModel.configuration(reader: reader)
        // llama.cpp's converter permutes q/k rows of these architectures into rotation pairs.
        let permuted = ["llama", "mistral"].contains(reader.architecture ?? "")
        var pairs: [String: [(LoRAPair, Bool)]] = [:]
        for adapter in adapters {
            for pair in adapter.pairs { pairs[pair.module + ".weight", default: []].append((pair, adapter.config.fanInFanOut)) }
        }
        var writer = GGUFWriter()
        for key in reader.metadataKeys { if let value = reader.metadata[key] { writer.set(key, value) } }
        writer.set("general.file_type", .uint32(quantization.fileType))
        var used = Set<String>(), merged = 0
        for info in reader.tensorInfos {
            let name = try GGUFModel.hfName(info.name)
            var values = try reader.dequantize(info.name)
            guard info.dimensions.count == 2 else {
                writer.add(info.name, dimensions: info.dimensions, type: .f32, bytes: GGUFEncoding.encode(values, as: .f32))
                continue
            }
            let (columns, rows) = (info.dimensions[0], info.dimensions[1])
            if let updates = pairs[name] {
                let heads = name.hasSuffix("q_proj.weight") ? config.attentionHeads : name.hasSuffix("k_proj.weight") ? config.kvHeads : nil
                let order = permuted ? heads.map { BaseCheckpoint.halfSplitOrder(rows: rows, heads: $0) } : nil
                if let order { values = reorder(values, rows: order, columns: columns) }
                for (pair, fanInFanOut) in updates { try AdapterMerge.apply(pair, to: &values, shape: [rows, columns], fanInFanOut: fanInFanOut) }
                if let order { values = reorder(values, rows: inverse(order), columns: columns) }
                used.insert(name)
                merged += 1
            }
            let type = columns % quantization.type.blockSize == 0 ? quantization.type : .f16
            writer.add(info.name, dimensions: info.dimensions, type: type, bytes: GGUFEncoding.encode(values, as: type))
        }
        if let missing = pairs.keys.sorted().first(where: { !used.contains($0) }) {
            throw LoRAError.badTensor(name: missing, reason: "the GGUF base has no such weight")
        }
        try writer.write(to: out)
        let bytes = (try FileManager.default.attributesOfItem(atPath: out.path)[.size] as? Int) ?? 0
        return Summary(tensors: reader.tensorInfos.count, merged: merged, bytes: bytes)
    }

    /// Row i of the result is row `rows[i]` of `values`.
    static func reorder(_ values: [Float], rows: [Int], columns: Int) -> [Float] {
        var out = [Float](repeating: 0, count: values.count)
        for (target, source) in rows.enumerated() {
            out.replaceSubrange((target * columns)..<((target + 1) * columns), with: values[(source * columns)..<((source + 1) * columns)])
        }
        return out
    }

    /// The inverse permutation.
    static func inverse(_ order: [Int]) -> [Int] {
        var result = [Int](repeating: 0, count: order.count)
        for (i, j) in order.enumerated() { result[j] = i }
        return result
    }
}
