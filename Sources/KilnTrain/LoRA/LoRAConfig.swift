// A LoRA adapter's settings as PEFT writes them in adapter_config.json.
import Foundation

/// The keys of PEFT's `adapter_config.json` that decide what an adapter computes.
public struct LoRAConfig: Sendable, Equatable {
    /// The rank r.
    public var r: Int
    /// lora_alpha; the update is scaled by alpha / r (alpha / √r with rsLoRA).
    public var alpha: Double
    /// Rank-stabilised scaling (Kalajdzievski 2023).
    public var useRSLoRA: Bool
    /// Module names (the last path component, as PEFT matches them) or `all-linear`.
    public var targetModules: [String]
    /// Parameters adapted in place (PEFT's `target_parameters`): fused expert tensors such as `gate_up_proj`, `down_proj`.
    public var targetParameters: [String] = []
    /// Dropout on the adapter's input during training.
    public var dropout: Double
    /// GPT-2's Conv1D stores weights as [in, out]; its update is added transposed.
    public var fanInFanOut: Bool
    /// Per-module overrides of r and alpha by regular expression (PEFT's `rank_pattern`, `alpha_pattern`).
    public var rankPattern: [String: Int]
    public var alphaPattern: [String: Double]

    /// A configuration.
    public init(r: Int, alpha: Double, useRSLoRA: Bool = false, targetModules: [String], dropout: Double = 0, fanInFanOut: Bool = false,
                rankPattern: [String: Int] = [:], alphaPattern: [String: Double] = [:]) {
        self.r = r
        self.alpha = alpha
        self.useRSLoRA = useRSLoRA
        self.targetModules = targetModules
        self.dropout = dropout
        self.fanInFanOut = fanInFanOut
        self.rankPattern = rankPattern
        self.alphaPattern = alphaPattern
    }

    /// The factor the update B·A is multiplied by for `module`: alpha / r, or alpha / √r with rsLoRA.
    public func scaling(for module: String) -> Double {
        let rank = Double(Self.match(rankPattern, module) ?? r)
        let moduleAlpha = Self.match(alphaPattern, module) ?? alpha
        return useRSLoRA ? moduleAlpha / rank.squareRoot() : moduleAlpha / rank
    }

    /// The value of the first pattern (PEFT matches `re.match(f".*\\.{key}$", name)`, or the key as a full name) that `module` matches.
    static func match<Value>(_ patterns: [String: Value], _ module: String) -> Value? {
        for (pattern, value) in patterns.sorted(by: { $0.key < $1.key }) {
            if module == pattern || module.range(of: "^(.*\\.)?" + pattern + "$", options: .regularExpression) != nil { return value }
        }
        return nil
    }

    /// Reads `adapter_config.json`.
    /// - Throws: `LoRAError.badConfig` naming a missing or mistyped key, or a PEFT type other than LORA.
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw LoRAError.unreadable(path: url.path, reason: "\(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw LoRAError.badConfig(path: url.path, reason: "not a JSON object")
        }
        if let type = object["peft_type"] as? String, type.uppercased() != "LORA" {
            throw LoRAError.badConfig(path: url.path, reason: "peft_type is \(type); only LORA adapters are supported")
        }
        guard let r = object["r"] as? Int, r > 0 else { throw LoRAError.badConfig(path: url.path, reason: "r must be a positive integer") }
        guard let alpha = (object["lora_alpha"] as? NSNumber)?.doubleValue else {
            throw LoRAError.badConfig(path: url.path, reason: "lora_alpha must be a number")
        }
        let targets: [String] = switch object["target_modules"] {
        case let list as [String]: list
        case let single as String: [single]
        default: []
        }
        self.init(r: r, alpha: alpha, useRSLoRA: object["use_rslora"] as? Bool ?? false, targetModules: targets,
                  dropout: (object["lora_dropout"] as? NSNumber)?.doubleValue ?? 0, fanInFanOut: object["fan_in_fan_out"] as? Bool ?? false,
                  rankPattern: (object["rank_pattern"] as? [String: Int]) ?? [:],
                  alphaPattern: ((object["alpha_pattern"] as? [String: NSNumber]) ?? [:]).mapValues(\.doubleValue))
        targetParameters = object["target_parameters"] as? [String] ?? []
    }
}

/// Why an adapter could not be read or applied.
public enum LoRAError: Error, Equatable, Sendable {
    /// The file could not be read.
    case unreadable(path: String, reason: String)
    /// adapter_config.json is not a LoRA configuration Kiln can apply.
    case badConfig(path: String, reason: String)
    /// A tensor of the adapter is missing, misnamed or misshapen for the base model.
    case badTensor(name: String, reason: String)
}

extension LoRAError: CustomStringConvertible, LocalizedError {
    /// The sentence, for `localizedDescription`.
    public var errorDescription: String? { description }

    /// A sentence naming the file or tensor.
    public var description: String {
        switch self {
        case .unreadable(let path, let reason): "Cannot read \(path): \(reason)."
        case .badConfig(let path, let reason): "\(path) is not a usable LoRA configuration: \(reason)."
        case .badTensor(let name, let reason): "Adapter tensor \(name): \(reason)."
        }
    }
}
