// `kiln-bench`: Kiln's benchmarks, each reported against a baseline measured in the same run.
import ArgumentParser
import Foundation
import KilnHost

/// The benchmark runner.
@main
struct KilnBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln-bench",
        abstract: "Measure Kiln; each figure comes with a baseline measured in the same run.",
        discussion: "Build with -c release: swift run -c release kiln-bench submissions",
        subcommands: [SubmissionsBench.self, AbuseBench.self, LedgerBench.self, SgemmBench.self, InferenceBench.self, TrainBench.self, ServeBench.self,
                      KnowledgeBench.self, GGUFBench.self])

    /// Refuses a CPU without the engine's instruction sets before anything runs, instead of dying of an illegal instruction.
    static func main() async {
        CPUFeatures.requireEngineSupport()
        OpenBLASEnvironment.restartIfNeeded()
        HeapPolicy.retainFreedMemory()
        await main(nil)
    }
}

/// Latency percentiles over a set of samples, in milliseconds.
struct Percentiles {
    let p50: Double
    let p99: Double
    let max: Double

    init(_ samples: [Double]) {
        let sorted = samples.sorted()
        func at(_ q: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int((q * Double(sorted.count)).rounded(.up)) - 1)]
        }
        p50 = at(0.50)
        p99 = at(0.99)
        max = sorted.last ?? 0
    }
}

/// Formats a number with a fixed count of decimals.
func fixed(_ value: Double, _ decimals: Int = 1) -> String {
    String(format: "%.\(decimals)f", value)
}
