// How long OpenBLAS's idle worker threads spin before they sleep. Its default is 2²⁸ cycles (about a tenth of a
// second) of sched_yield, and while Kiln's own pool runs element-wise work on the other core that spinning takes the
// core from it: a SmolLM2 training step ran 8–10% faster with 2¹⁰ (`kiln-bench train`, 226–235 against 185–213
// tokens/s). OpenBLAS reads the setting in its library constructor, before `main`, and restarting its threads from
// inside the process did not take it up, so the process starts itself again once with the variable set.
import Foundation

/// The OpenBLAS environment Kiln runs with.
public enum OpenBLASSpin {
    /// The variable and the value Kiln sets when the environment does not already name one.
    public static let variable = "OPENBLAS_THREAD_TIMEOUT", value = "10"

    /// Replaces this process with itself, same arguments, with `OPENBLAS_THREAD_TIMEOUT` set; returns without doing
    /// anything when it is already set (by the user or by the first start) or when the executable cannot be found.
    public static func restartWithShortSpinIfNeeded() {
        guard getenv(variable) == nil else { return }
        setenv(variable, value, 1)
        let executable = "/proc/self/exe"
        guard access(executable, X_OK) == 0 else { return }
        execv(executable, CommandLine.unsafeArgv)
        // execv returns only on failure: go on in this process, with OpenBLAS's default spin.
    }
}
