// A LoRA adapter as PEFT saves it: adapter_config.json and adapter_model.safetensors with PEFT's tensor names.
import Foundation
import KilnModels
import KilnTensor

/// One adapted module's low-rank pair: ΔW = scaling · B · A.
public struct LoRAPair: Sendable, Equatable {
    /// The module's path in the base checkpoint (`model.layers.0.self_attn.q_proj`); its weight is `<module>.weight`.
    public var module: String
    /// A, row-major [r, in].
    public var a: [Float]
    /// B, row-major [out, r].
    public var b: [Float]
    /// r, in and out.
    public var rank: Int
    public var inFeatures: Int
    public var outFeatures: Int
    /// The factor ΔW is multiplied by.
    public var scaling: Float
}

/// A loaded LoRA adapter: its configuration and one pair per adapted module.
public struct LoRAAdapter: Sendable {
    /// The configuration from adapter_config.json.
    public var config: LoRAConfig
    /// The pairs, in module order.
    public var pairs: [LoRAPair]

    /// The prefix PEFT puts before a module path in saved tensor names (the adapter name is left out).
    public static let prefix = "base_model.model."

    /// PEFT's saved names for a module's pair: `base_model.model.<module>.lora_A.weight` and `.lora_B.weight`.
    public static func tensorNames(module: String) -> (a: String, b: String) {
        (prefix + module + ".lora_A.weight", prefix + module + ".lora_B.weight")
    }

    /// An adapter from its configuration and pairs (a training run's, or one read from disk).
    public init(config: LoRAConfig, pairs: [LoRAPair]) {
        self.config = config
        self.pairs = pairs
    }

    /// Reads a PEFT adapter folder.
    /// - Throws: `LoRAError` for an unreadable config, a tensor without its partner, or shapes that disagree on r.
    public init(folder: URL) throws {
        let config = try LoRAConfig(contentsOf: folder.appendingPathComponent("adapter_config.json"))
        self.config = config
        let url = folder.appendingPathComponent("adapter_model.safetensors")
        let reader: SafeTensorsReader
        do {
            reader = try SafeTensorsReader(url: url)
        } catch {
            throw LoRAError.unreadable(path: url.path, reason: "\(error)")
        }
        var modules: [String] = []
        for name in reader.tensorNames where name.hasSuffix(".lora_A.weight") {
            guard name.hasPrefix(Self.prefix) else {
                throw LoRAError.badTensor(name: name, reason: "expected PEFT's \"\(Self.prefix)\" prefix")
            }
            modules.append(String(name.dropFirst(Self.prefix.count).dropLast(".lora_A.weight".count)))
        }
        for name in reader.tensorNames where name.hasSuffix(".lora_B.weight") {
            let module = String(name.dropFirst(Self.prefix.count).dropLast(".lora_B.weight".count))
            guard modules.contains(module) else { throw LoRAError.badTensor(name: name, reason: "has no lora_A partner") }
        }
        pairs = try modules.sorted().map { module in
            let names = Self.tensorNames(module: module)
            guard let aInfo = reader.info(names.a), let bInfo = reader.info(names.b) else {
                throw LoRAError.badTensor(name: names.b, reason: "missing (every lora_A needs its lora_B)")
            }
            guard aInfo.shape.count == 2, bInfo.shape.count == 2, aInfo.shape[0] == bInfo.shape[1] else {
                throw LoRAError.badTensor(name: names.a, reason: "lora_A \(aInfo.shape) and lora_B \(bInfo.shape) do not share a rank")
            }
            do {
                return LoRAPair(module: module, a: try reader.floats(names.a), b: try reader.floats(names.b), rank: aInfo.shape[0],
                                inFeatures: aInfo.shape[1], outFeatures: bInfo.shape[0], scaling: Float(config.scaling(for: module)))
            } catch {
                throw LoRAError.badTensor(name: names.a, reason: "\(error)")
            }
        }
    }

    /// The adapters as unmerged updates for `ModelRegistry.loadModel(folder:adapters:)`, in the order given.
    public static func updates(_ adapters: [LoRAAdapter]) -> AdapterUpdates {
        var updates: AdapterUpdates = [:]
        for adapter in adapters {
            for pair in adapter.pairs {
                updates[pair.module + ".weight", default: []].append(LowRankUpdate(
                    a: Tensor(shape: [pair.rank, pair.inFeatures], storage: pair.a),
                    b: Tensor(shape: [pair.outFeatures, pair.rank], storage: pair.b), scaling: pair.scaling))
            }
        }
        return updates
    }

    /// Writes the adapter as PEFT saves one: `adapter_config.json` with PEFT's keys and `adapter_model.safetensors`
    /// (F32, PEFT's tensor names), so `PeftModel.from_pretrained(base, folder)` loads it.
    /// - Parameter baseModel: recorded as `base_model_name_or_path` (a hub id or the base folder's path).
    public func save(to folder: URL, baseModel: String) throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var writer = SafeTensorsWriter()
        for pair in pairs {
            let names = Self.tensorNames(module: pair.module)
            writer.add(names.a, shape: [pair.rank, pair.inFeatures], values: pair.a)
            writer.add(names.b, shape: [pair.outFeatures, pair.rank], values: pair.b)
        }
        try writer.write(to: folder.appendingPathComponent("adapter_model.safetensors"))
        let config: [String: Any] = [
            "alpha_pattern": config.alphaPattern, "auto_mapping": NSNull(), "base_model_name_or_path": baseModel, "bias": "none",
            "fan_in_fan_out": config.fanInFanOut, "inference_mode": true, "init_lora_weights": true, "layers_pattern": NSNull(),
            "layers_to_transform": NSNull(), "lora_alpha": config.alpha, "lora_dropout": config.dropout, "modules_to_save": NSNull(),
            "peft_type": "LORA", "r": config.r, "rank_pattern": config.rankPattern, "revision": NSNull(),
            "target_modules": config.targetModules.sorted(), "target_parameters": config.targetParameters.isEmpty ? NSNull() : config.targetParameters.sorted(),
            "task_type": "CAUSAL_LM", "use_dora": false, "use_rslora": config.useRSLoRA,
        ]
        let data = try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try data.write(to: folder.appendingPathComponent("adapter_config.json"), options: .atomic)
    }
}
