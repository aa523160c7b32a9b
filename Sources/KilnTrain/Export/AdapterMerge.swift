// Merging a LoRA adapter into its base: W ← W + scaling · B·A, as PEFT's `merge_and_unload` does, saved as a model folder.
import Foundation
import KilnModels

/// Folds adapters into base weights and writes a plain model folder that transformers (and Kiln) load.
public enum AdapterMerge {
    /// Adds `pair`'s update to `weight`: stored [out, in], or [in, out] for a fan-in-fan-out (Conv1D) weight, where the
    /// update is added transposed. The update is (B·A)·scaling in float32, PEFT's `get_delta_weight`.
    /// - Throws: `LoRAError.badTensor` when the weight's shape does not fit the pair.
    public static func apply(_ pair: LoRAPair, to weight: inout [Float], shape: [Int], fanInFanOut: Bool) throws {
        let (rows, columns) = fanInFanOut ? (pair.inFeatures, pair.outFeatures) : (pair.outFeatures, pair.inFeatures)
        guard shape == [rows, columns], weight.count == rows * columns else {
            throw LoRAError.badTensor(name: pair.module + ".weight",
                                      reason: "base weight is \(shape), the adapter needs [\(rows), \(columns)] (r \(pair.rank))")
        }
        let (r, inputs) = (pair.rank, pair.inFeatures)
        for o in 0..<pair.outFeatures {
            for i in 0..<inputs {
                var sum: Float = 0
                for k in 0..<r { sum += pair.b[o * r + k] * pair.a[k * inputs + i] }
                let index = fanInFanOut ? i * pair.outFeatures + o : o * inputs + i
                weight[index] += sum * pair.scaling
            }
        }
    }

    /// Writes `base` with `adapters` merged into `out`: `model.safetensors` (F32) and every other file of the base folder
    /// (config, tokenizer, chat template, generation config) copied unchanged.
    /// - Throws: `LoRAError` when an adapted module has no weight in the base, or file errors.
    public static func merge(base: URL, adapters: [LoRAAdapter], into out: URL) throws {
        let weights = try WeightMap(folder: base)
        var merged: [String: (shape: [Int], values: [Float])] = [:]
        for adapter in adapters {
            for pair in adapter.pairs {
                let name = pair.module + ".weight"
                guard let info = weights.info(name) else {
                    throw LoRAError.badTensor(name: LoRAAdapter.tensorNames(module: pair.module).a, reason: "the base has no \(name)")
                }
                var entry = try merged[name] ?? (info.shape, weights.tensor(name).storage)
                try apply(pair, to: &entry.values, shape: entry.shape, fanInFanOut: adapter.config.fanInFanOut)
                merged[name] = entry
            }
        }
        var writer = SafeTensorsWriter()
        for name in weights.names {
            if let entry = merged[name] {
                writer.add(name, shape: entry.shape, values: entry.values)
            } else {
                let tensor = try weights.tensor(name)
                writer.add(name, shape: tensor.shape, values: tensor.storage)
            }
        }
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: base.path)
        where !file.hasSuffix(".safetensors") && file != "model.safetensors.index.json" {
            let source = base.appendingPathComponent(file)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: source.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let target = out.appendingPathComponent(file)
            try? FileManager.default.removeItem(at: target)
            try FileManager.default.copyItem(at: source, to: target)
        }
        try writer.write(to: out.appendingPathComponent("model.safetensors"))
    }
}
