// Which form of each C kernel runs: the widest the CPU reports, unless the environment asks for less. The floor (AVX2 +
// FMA) is what the Swift engine itself is compiled for; the higher forms are in KilnKernels behind per-function target
// attributes. Benchmarks and the kernel tests set `KILN_CPU=avx2` to run, and so keep testing, the floor on any machine.
import Foundation
import KilnKernels

/// The instruction sets Kiln's kernels may use on this machine.
public struct KernelDispatch: Sendable, Equatable {
    /// AVX-512 F/VL/BW/DQ (sixteen-lane float kernels).
    public var avx512: Bool
    /// AVX-512 VNNI (int8 dot products for the quantised weights).
    public var vnni: Bool
    /// AVX-512 BF16 (bfloat16 dot products).
    public var bf16: Bool

    /// What is used here: the CPU's features limited by `KILN_CPU` and `KILN_NO_AVX512`.
    public static let current = KernelDispatch(cpu: kiln_cpu_features(), environment: ProcessInfo.processInfo.environment)

    /// The sets of `cpu` (`KILN_CPU_*` bits) that `environment` allows: `KILN_CPU=avx2` (or `KILN_NO_AVX512` set)
    /// keeps the AVX2 floor, `KILN_CPU=avx512` stops below VNNI and BF16; anything else allows all the CPU has.
    public init(cpu: Int32, environment: [String: String]) {
        let limit = environment["KILN_CPU"]?.lowercased()
        let floorOnly = limit == "avx2" || environment["KILN_NO_AVX512"] != nil
        avx512 = !floorOnly && cpu & Int32(KILN_CPU_AVX512) != 0
        vnni = avx512 && limit != "avx512" && cpu & Int32(KILN_CPU_AVX512_VNNI) != 0
        bf16 = avx512 && limit != "avx512" && cpu & Int32(KILN_CPU_AVX512_BF16) != 0
    }

    /// The names of the sets in use, for benchmark and `kiln info` output ("AVX2" at the floor).
    public var summary: String {
        (["AVX2"] + (avx512 ? ["AVX-512"] : []) + (vnni ? ["VNNI"] : []) + (bf16 ? ["BF16"] : [])).joined(separator: " + ")
    }
}
