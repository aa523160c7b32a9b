// The only file that talks to OpenBLAS.
import CBLAS

/// Matrix products through OpenBLAS `cblas_sgemm`, row-major.
///
/// Debian's default OpenBLAS is the pthread build (`libopenblas0-pthread`): it keeps its own
/// worker threads, which do not fight an OpenMP runtime, and `openblas_set_num_threads` sizes them.
public enum BLAS {
    /// Sets the threads OpenBLAS uses for one call.
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    /// The threads OpenBLAS uses.
    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// Whether the kernel family OpenBLAS chose (`openblas_get_corename`) uses AVX-512: a library older than the CPU
    /// falls back to an AVX2 family ("Haswell", "Zen"), and OPENBLAS_CORETYPE can force one.
    public static let hasAVX512Kernels: Bool = {
        let name = String(cString: openblas_get_corename()).lowercased()
        return ["skylakex", "cooperlake", "sapphirerapids"].contains { name.contains($0) }
    }()

    /// `C = alpha · op(A) · op(B) + beta · C` for row-major matrices; `op(A)` is M×K, `op(B)` is K×N, C is M×N.
    /// - Parameters:
    ///   - transposeA: use Aᵀ (A is stored K×M).
    ///   - transposeB: use Bᵀ (B is stored N×K), the layout of a PyTorch `Linear` weight.
    ///   - ldc: the row stride of C (default N), to write a block of columns inside a wider matrix.
    ///   - lda, ldb: the row strides of A and B as stored (default their stored width), to read a block of columns.
    public static func sgemm(transposeA: Bool = false, transposeB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
                             a: UnsafePointer<Float>, b: UnsafePointer<Float>, beta: Float = 0, c: UnsafeMutablePointer<Float>,
                             ldc: Int? = nil, lda: Int? = nil, ldb: Int? = nil) {
        guard m > 0, n > 0 else { return }
        // OpenBLAS threads a product this large; idle pool workers must not spin on the same cores meanwhile.
        if m * n * k >= 1 << 20 { WorkerPool.shared.park() }
        cblas_sgemm(CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda ?? (transposeA ? m : k)), b, Int32(ldb ?? (transposeB ? k : n)), beta, c,
                    Int32(ldc ?? n))
    }
}
