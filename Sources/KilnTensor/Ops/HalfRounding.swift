// Float32 values rounded to float16 and back: llama.cpp keeps K and V in a float16 cache and converts the other
// operand of a float16 product to float16, so a path that mirrors its numerics rounds at the same places.
import KilnKernels

/// Rounding to float16 precision (to nearest, ties to even, float16 subnormals kept), in place.
public enum HalfRounding {
    /// Rounds `count` floats at `x`.
    public static func round(_ x: UnsafeMutablePointer<Float>, count: Int) {
        kiln_round_f16(x, count)
    }

    /// Rounds every element of `tensor`.
    public static func round(_ tensor: inout Tensor) {
        let count = tensor.count
        tensor.withMutablePointer { round($0, count: count) }
    }

    /// `tensor` with every element rounded.
    public static func rounded(_ tensor: Tensor) -> Tensor {
        var copy = tensor
        round(&copy)
        return copy
    }
}
