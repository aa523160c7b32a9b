// The start-up CPU check: flags read from cpuinfo text, and which required features a CPU lacks. The flag lines
// are real /proc/cpuinfo lines (an Intel Sandy Bridge Xeon, which predates AVX2/FMA/F16C, and an AMD Zen 3 VM).
import KilnHost
import Testing

@Suite("CPU features")
struct CPUFeaturesTests {
    static let sandyBridge = """
        processor\t: 0
        model name\t: Intel(R) Xeon(R) CPU E5-2670 0 @ 2.60GHz
        flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm \
        pbe syscall nx pdpe1gb rdtscp lm constant_tsc arch_perfmon pebs bts rep_good nopl xtopology nonstop_tsc aperfmperf pni pclmulqdq \
        dtes64 monitor ds_cpl vmx smx est tm2 ssse3 cx16 xtpr pdcm pcid dca sse4_1 sse4_2 x2apic popcnt tsc_deadline_timer aes xsave avx \
        lahf_lm ida arat epb pln pts dtherm tpr_shadow vnmi flexpriority ept vpid xsaveopt

        """

    static let zen3 = """
        processor\t: 0
        flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush mmx fxsr sse sse2 ht syscall nx mmxext \
        fxsr_opt pdpe1gb rdtscp lm constant_tsc rep_good nopl xtopology nonstop_tsc cpuid extd_apicid tsc_known_freq pni pclmulqdq ssse3 fma \
        cx16 pcid sse4_1 sse4_2 x2apic movbe popcnt tsc_deadline_timer aes xsave avx f16c rdrand hypervisor lahf_lm cmp_legacy cr8_legacy abm \
        sse4a misalignsse 3dnowprefetch osvw topoext bmi1 avx2 smep bmi2 erms invpcid rdseed adx smap clflushopt clwb sha_ni xsaveopt
        """

    @Test("A Sandy Bridge CPU lacks AVX2, FMA and F16C, and the refusal names them")
    func sandyBridgeIsRefused() {
        let features = CPUFeatures(cpuinfo: Self.sandyBridge)
        #expect(features.flags.contains("avx"))
        #expect(features.missing == ["AVX2", "FMA", "F16C"])
        #expect(features.refusal?.contains("lacks AVX2, FMA, F16C") == true)
    }

    @Test("A Zen 3 CPU has everything the engine needs and no AVX-512")
    func zen3Runs() {
        let features = CPUFeatures(cpuinfo: Self.zen3)
        #expect(features.missing.isEmpty)
        #expect(features.refusal == nil)
        #expect(!features.hasAVX512VNNI && !features.hasAVX512BF16)
    }

    @Test("Text without a flags line gives no features, so nothing is refused on a kernel that does not say")
    func noFlagsLine() {
        #expect(CPUFeatures(cpuinfo: "processor : 0\n").flags.isEmpty)
        #expect(CPUFeatures.current(environment: ["KILN_CPUINFO": "/nonexistent/cpuinfo"]) == nil)
    }

    @Test("OpenBLAS's fallback to pre-AVX2 kernels is overridden with the CPU's family; a core it knows is kept")
    func openBLASCore() {
        let avx512 = CPUFeatures(cpuinfo: "flags\t\t: fpu sse2 avx avx2 fma f16c avx512f avx512bw avx512dq avx512vl avx512cd avx512_vnni\n")
        #expect(OpenBLASEnvironment.coreType(detected: "Prescott", features: avx512) == "SkylakeX")
        #expect(OpenBLASEnvironment.coreType(detected: "Prescott", features: CPUFeatures(cpuinfo: Self.zen3)) == "Haswell")
        #expect(OpenBLASEnvironment.coreType(detected: "Zen", features: CPUFeatures(cpuinfo: Self.zen3)) == nil)
        #expect(OpenBLASEnvironment.coreType(detected: "SkylakeX", features: avx512) == nil)
        // A CPU without AVX2 keeps whatever OpenBLAS chose (Kiln's engine refuses it anyway).
        #expect(OpenBLASEnvironment.coreType(detected: "Sandybridge", features: CPUFeatures(cpuinfo: Self.sandyBridge)) == nil)
    }
}
