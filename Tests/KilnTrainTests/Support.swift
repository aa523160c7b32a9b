// Helpers the KilnTrain tests share.

/// The largest |a[i] − b[i]| over two equally long arrays.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}
