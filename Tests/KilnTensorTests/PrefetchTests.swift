// The decode kernels' prefetch distance and the bandwidth probe's sum (KilnKernels), against values worked by hand and
// float64 sums.
import Foundation
import KilnKernels
import KilnTensor
import Testing

@Suite("Decode prefetch and the read probe")
struct PrefetchTests {
    // About 16 KiB ahead, rounded up to whole blocks of 4 rows; long rows are left to the hardware prefetcher.
    @Test("Rows ahead for a row's bytes", arguments: [(1152, 16), (2304, 8), (3072, 8), (1536, 12), (64, 256), (4095, 8),
                                                       (4096, 0), (12288, 0), (0, 0)] as [(Int, Int)])
    func rowsAhead(rowBytes: Int, expected: Int) {
        #expect(kiln_rows_ahead(rowBytes) == expected)
    }

    @Test("The probe's sum equals float64 sums, with and without AVX-512, on lengths with tails",
          arguments: [0, 1, 63, 64, 127, 128, 1000, 4099])
    func readSum(count: Int) {
        let x = (0..<count).map { Float(($0 * 37) % 101) - 50 }
        let expected = Float(x.reduce(0.0) { $0 + Double($1) })
        // Whole numbers below 2^24 sum exactly in float32 in any order.
        #expect(kiln_read_sum(x, count, 0) == expected)
        if KernelDispatch.current.avx512 { #expect(kiln_read_sum(x, count, 1) == expected) }
    }
}
