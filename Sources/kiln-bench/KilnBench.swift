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
                      KnowledgeBench.self, GGUFBench.self, PrefillGemmBench.self])

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

/// `count` token ids below `vocabulary` from a fixed LCG stream (seed 42): the same prompt for Kiln and its peer
/// in every run; the values do not matter to the speed, only the length.
func randomTokens(_ count: Int, vocabulary: Int) -> [Int] {
    var state: UInt64 = 42
    return (0..<count).map { _ in
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(state >> 33) % vocabulary
    }
}

/// Formats a number with a fixed count of decimals.
func fixed(_ value: Double, _ decimals: Int = 1) -> String {
    String(format: "%.\(decimals)f", value)
}
