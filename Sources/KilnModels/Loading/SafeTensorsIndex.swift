// Sharded checkpoints: `model.safetensors.index.json` = {"metadata": {...}, "weight_map": {tensor: shard file}}
// as written by transformers' `save_pretrained` (modeling_utils.py, `SAFE_WEIGHTS_INDEX_NAME`).
// Each shard is opened (mapped and validated) once; every weight_map entry must resolve.
import Foundation

/// A sharded safetensors checkpoint: one reader per shard and a tensor → shard map.
public final class SafeTensorsIndex: Sendable {
    /// The index file name transformers writes.
    public static let fileName = "model.safetensors.index.json"

    /// Shard readers keyed by shard file name.
    public let shards: [String: SafeTensorsReader]
    /// Tensor name → shard file name, as `weight_map` says.
    public let weightMap: [String: String]

    /// Opens `directory/model.safetensors.index.json` and every shard it names.
    /// - Throws: `SafeTensorsError.invalidIndex`, `.missingShard` when a shard file is absent,
    ///   `.tensorMissingInShard` when a shard lacks a tensor the map assigns to it, or any shard's error.
    public init(directory: URL) throws(SafeTensorsError) {
        let indexURL = directory.appendingPathComponent(Self.fileName)
        let bytes: Data
        do { bytes = try Data(contentsOf: indexURL) } catch {
            throw .unreadable(path: indexURL.path, reason: "\(error)")
        }
        let json: StrictJSON
        do { json = try StrictJSON.parse(bytes) } catch { throw .invalidHeaderJSON(error) }
        guard let map = json.objectValue?["weight_map"]?.objectValue else {
            throw .invalidIndex(reason: "no weight_map object")
        }
        var weightMap: [String: String] = [:]
        var shards: [String: SafeTensorsReader] = [:]
        for (tensor, value) in map.sorted(by: { $0.key < $1.key }) {
            guard let file = value.stringValue else { throw .invalidIndex(reason: "weight_map[\(tensor)] is not a string") }
            // Shard names are plain file names; a path would let an index reach outside its folder.
            guard !file.isEmpty, !file.contains("/"), file != "..", file != "." else {
                throw .invalidIndex(reason: "shard name \(file) for \(tensor)")
            }
            if shards[file] == nil {
                let url = directory.appendingPathComponent(file)
                guard FileManager.default.fileExists(atPath: url.path) else { throw .missingShard(tensor: tensor, file: file) }
                shards[file] = try SafeTensorsReader(url: url)
            }
            guard shards[file]?.info(tensor) != nil else { throw .tensorMissingInShard(tensor: tensor, file: file) }
            weightMap[tensor] = file
        }
        self.shards = shards
        self.weightMap = weightMap
    }

    /// All tensor names in the checkpoint, sorted.
    public var tensorNames: [String] { weightMap.keys.sorted() }

    /// The reader holding `name`, or nil.
    public func reader(for name: String) -> SafeTensorsReader? {
        weightMap[name].flatMap { shards[$0] }
    }

    /// The description of `name`, or nil.
    public func info(_ name: String) -> TensorInfo? { reader(for: name)?.info(name) }

    /// `name` as Float32 from whichever shard holds it.
    /// - Throws: `SafeTensorsError.tensorNotFound` or the shard's conversion error.
    public func floats(_ name: String) throws(SafeTensorsError) -> [Float] {
        guard let reader = reader(for: name) else { throw .tensorNotFound(name) }
        return try reader.floats(name)
    }
}
