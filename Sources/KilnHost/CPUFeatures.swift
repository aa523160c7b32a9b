// The instruction sets of the CPU Kiln runs on, read at run time, and the check that stops `kiln` cleanly without them.
//
// This target is compiled for the baseline x86-64 target (no -target-cpu), so the check itself never executes an
// instruction the CPU might lack; the engine targets (KilnTensor, KilnModels) are compiled for Haswell and are
// reached only after it passes.
import Foundation

/// What the processor can do, as the kernel reports it in /proc/cpuinfo's `flags` line.
public struct CPUFeatures: Sendable, Equatable {
    /// The lower-case flag names of the first processor (all cores of one machine report the same set).
    public let flags: Set<String>

    /// The flags the engine is compiled for, with the name people know each by.
    public static let required: [(flag: String, name: String)] = [("avx2", "AVX2"), ("fma", "FMA"), ("f16c", "F16C")]

    /// Features from a cpuinfo text (Linux's /proc/cpuinfo format).
    public init(cpuinfo: String) {
        let line = cpuinfo.split(separator: "\n").first { $0.hasPrefix("flags") || $0.hasPrefix("Features") }
        let value = line.flatMap { $0.split(separator: ":", maxSplits: 1).last } ?? ""
        flags = Set(value.split(separator: " ").map { $0.lowercased() })
    }

    /// The features of this machine, or `nil` when the kernel does not say (then nothing is checked).
    ///
    /// `KILN_CPUINFO` names another file in cpuinfo's format, so the refusal can be tested on any machine.
    public static func current(environment: [String: String] = ProcessInfo.processInfo.environment) -> CPUFeatures? {
        let path = environment["KILN_CPUINFO"] ?? "/proc/cpuinfo"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else { return nil }
        let features = CPUFeatures(cpuinfo: text)
        return features.flags.isEmpty ? nil : features
    }

    /// The names of required features this CPU lacks, in `required`'s order.
    public var missing: [String] {
        Self.required.filter { !flags.contains($0.flag) }.map(\.name)
    }

    /// Whether the CPU has AVX-512 with VNNI (int8 dot products).
    public var hasAVX512VNNI: Bool { flags.contains("avx512f") && flags.contains("avx512_vnni") }

    /// Whether the CPU has AVX-512 BF16 dot products.
    public var hasAVX512BF16: Bool { flags.contains("avx512f") && flags.contains("avx512_bf16") }

    /// The message `kiln` prints when it cannot run here, or `nil` when it can.
    public var refusal: String? {
        let missing = missing
        guard !missing.isEmpty else { return nil }
        return "kiln: this CPU lacks \(missing.joined(separator: ", ")), which Kiln's engine needs (an x86-64 CPU from 2013 on: "
            + "Intel Haswell or AMD Excavator and later). Nothing was started."
    }

    /// Exits with status 3 and the refusal on standard error when the CPU cannot run the engine; returns otherwise.
    public static func requireEngineSupport() {
        #if arch(x86_64)
        guard let message = current()?.refusal else { return }
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(3)
        #endif
    }
}
