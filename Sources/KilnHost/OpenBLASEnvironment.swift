// The OpenBLAS environment Kiln runs with, set before the library starts: OpenBLAS reads it in its library constructor,
// before `main`, so the process starts itself again once with the variables set.
//
// - How long idle worker threads spin before they sleep. OpenBLAS's default is 2²⁸ cycles (about a tenth of a second)
//   of sched_yield, and while Kiln's own pool runs element-wise work on the other core that spinning takes the core
//   from it: a SmolLM2 training step ran 8–10% faster with 2¹⁰ (`kiln-bench train`, 226–235 against 185–213 tokens/s).
// - Which kernels it runs. Debian 12's OpenBLAS (0.3.21) does not know newer CPUs and falls back to its SSE3
//   "Prescott" kernels on them, on a machine with AVX-512: a sixteen-request prefill took 3.7 s instead of 1.0 s
//   (`kiln-bench serve`). Where it picked a core without AVX2 on a CPU that has it, Kiln names the right family.
import CBLAS
import Foundation

/// The OpenBLAS environment Kiln runs with.
public enum OpenBLASEnvironment {
    /// The spin variable and the value Kiln sets when the environment does not already name one.
    public static let spinVariable = "OPENBLAS_THREAD_TIMEOUT", spinValue = "10"
    /// The variable that names OpenBLAS's kernel family.
    public static let coreVariable = "OPENBLAS_CORETYPE"

    /// OpenBLAS's x86-64 core names whose kernels predate AVX2.
    static let preAVX2Cores: Set<String> = [
        "prescott", "core2", "penryn", "dunnington", "nehalem", "sandybridge", "atom", "katmai", "coppermine", "northwood",
        "banias", "athlon", "opteron", "opteron_sse3", "barcelona", "bobcat", "bulldozer", "piledriver", "steamroller", "unknown",
    ]

    /// The core family to name when OpenBLAS chose `detected` on a CPU with `features`, or nil to keep its choice:
    /// SkylakeX where the CPU has the AVX-512 subsets its kernels use, else Haswell (AVX2 + FMA).
    public static func coreType(detected: String, features: CPUFeatures) -> String? {
        guard preAVX2Cores.contains(detected.lowercased()), features.missing.isEmpty else { return nil }
        let skylakeX = ["avx512f", "avx512bw", "avx512dq", "avx512vl", "avx512cd"].allSatisfy(features.flags.contains)
        return skylakeX ? "SkylakeX" : "Haswell"
    }

    /// Replaces this process with itself, same arguments, with the variables set; returns without doing anything when
    /// nothing needs setting (already set by the user or by the first start) or the executable cannot be found.
    public static func restartIfNeeded() {
        var changed = false
        if getenv(spinVariable) == nil {
            setenv(spinVariable, spinValue, 1)
            changed = true
        }
        if getenv(coreVariable) == nil, let name = openblas_get_corename().map({ String(cString: $0) }), let features = CPUFeatures.current(),
           let core = coreType(detected: name, features: features) {
            setenv(coreVariable, core, 1)
            changed = true
        }
        let executable = "/proc/self/exe"
        guard changed, access(executable, X_OK) == 0 else { return }
        execv(executable, CommandLine.unsafeArgv)
        // execv returns only on failure: go on in this process, with OpenBLAS's own choices.
    }
}
