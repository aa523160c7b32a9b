// Rotary embeddings against numpy reimplementations of transformers (both layouts, partial rotary, the
// llama3 and linear scalings), backward as the inverse rotation, and against finite differences.
import Foundation
import KilnTensor
import Testing

@Suite("RoPE")
struct RoPETests {
    /// x (1, 2, 3, 6): numpy float32 `np.arange(36).reshape(1, 2, 3, 6) * 0.37 - 3.1`.
    static let x = Tensor(shape: [1, 2, 3, 6], storage: [
        -3.0999999046325684, -2.7300000190734863, -2.359999895095825, -1.9899998903274536, -1.619999885559082, -1.2499998807907104,
        -0.8799998760223389, -0.5099997520446777, -0.1399998664855957, 0.23000001907348633, 0.6000001430511475, 0.9700002670288086,
        1.3400001525878906, 1.7100000381469727, 2.080000400543213, 2.450000286102295, 2.820000171661377, 3.190000057220459,
        3.559999942779541, 3.9300003051757812, 4.300000190734863, 4.670000076293945, 5.0400004386901855, 5.410000324249268,
        5.78000020980835, 6.150000095367432, 6.519999980926514, 6.889999866485596, 7.260000705718994, 7.630000591278076,
        8.0, 8.370000839233398, 8.739999771118164, 9.110000610351562, 9.479999542236328, 9.850000381469727,
    ])
    static let positions = [0, 5, 17]

    static func check(_ actual: Tensor, _ expected: [Float], tolerance: Float = 2e-6) {
        let diff = actual.maxAbsDifference(Tensor(shape: actual.shape, storage: expected))
        #expect(diff < tolerance, "max abs diff \(diff)")
    }

    // numpy 2.4.6, float32, as transformers computes it (rotary dim R = 4 of head dim 6, theta 10000):
    //   inv = 1/(np.float32(1e4) ** (np.arange(0, R, 2).astype(f32)/R)); ang = pos[:, None]*inv; c, s = cos(ang), sin(ang)
    //   half-split: xr = x[..., :R]; rotate_half = cat(-xr[..., R/2:], xr[..., :R/2]); xr*cat(c, c) + rotate_half*cat(s, s)
    //   interleaved: rot = stack(-xr[..., 1::2], xr[..., 0::2], -1).reshape; xr*repeat(c, 2) + rot*repeat(s, 2)
    //   then cat with the pass-through x[..., R:].
    @Test("Half-split layout with partial rotary matches numpy of HF rotate_half")
    func halfSplit() {
        let table = RoPE.table(positions: Self.positions, inverseFrequencies: RoPE.inverseFrequencies(rotaryDim: 4, theta: 10000))
        Self.check(RoPE.forward(Self.x, table: table, layout: .halfSplit), [
            -3.0999999046325684, -2.7300000190734863, -2.359999895095825, -1.9899998903274536, -1.619999885559082, -1.2499998807907104,
            -0.3838719427585602, -0.5208576321601868, 0.804140567779541, 0.20422321557998657, 0.6000001430511475, 0.9700002670288086,
            1.6309881210327148, 1.2708532810211182, -1.8606126308441162, 2.7039849758148193, 2.820000171661377, 3.190000057220459,
            3.559999942779541, 3.9300003051757812, 4.300000190734863, 4.670000076293945, 5.0400004386901855, 5.410000324249268,
            7.891753673553467, 5.797957897186279, -3.6931052207946777, 7.188761234283447, 7.260000705718994, 7.630000591278076,
            6.2013068199157715, 6.708094596862793, -10.096107482910156, 10.394734382629395, 9.479999542236328, 9.850000381469727,
        ])
    }

    @Test("Interleaved layout with partial rotary matches numpy of GPT-J / GLM rotation")
    func interleaved() {
        let table = RoPE.table(positions: Self.positions, inverseFrequencies: RoPE.inverseFrequencies(rotaryDim: 4, theta: 10000))
        Self.check(RoPE.forward(Self.x, table: table, layout: .interleaved), [
            -3.0999999046325684, -2.7300000190734863, -2.359999895095825, -1.9899998903274536, -1.619999885559082, -1.2499998807907104,
            -0.7386738061904907, 0.6991856098175049, -0.15132009983062744, 0.22271549701690674, 0.6000001430511475, 0.9700002670288086,
            1.275270700454712, -1.758802056312561, 1.635520100593567, 2.766582489013672, 2.820000171661377, 3.190000057220459,
            3.559999942779541, 3.9300003051757812, 4.300000190734863, 4.670000076293945, 5.0400004386901855, 5.410000324249268,
            7.536952018737793, -3.798060178756714, 6.167495250701904, 7.207253456115723, 7.260000705718994, 7.630000591278076,
            5.845591068267822, -9.99429702758789, 7.072759628295898, 10.457331657409668, 9.479999542236328, 9.850000381469727,
        ])
    }

    // numpy 2.4.6 reimplementation of transformers `modeling_rope_utils._compute_llama3_parameters`, float32
    // (torch's `scalar / tensor` is reciprocal() · scalar), R = 16, theta 5e5, factor 8, low 1, high 4, original 8192:
    //   wl = (1/inv)*f32(2π); il = where(wl > 8192, inv/8, inv); sm = ((1/wl)*8192 − 1)/(4 − 1)
    //   smoothed = (1 − sm)*il/8 + sm*il; result = where(!(wl < 2048) & !(wl > 8192), smoothed, il)
    // Frequencies 0–3 are kept, 4 is interpolated, 5–7 are divided by 8.
    @Test("llama3 frequency scaling matches numpy of transformers' _compute_llama3_parameters")
    func llama3Scaling() {
        let base = RoPE.inverseFrequencies(rotaryDim: 16, theta: 500_000)
        let expectedBase: [Float] = [1.0, 0.193922758102417, 0.03760603070259094, 0.00729266507551074, 0.001414213445968926,
                                     0.00027424818836152554, 5.318296462064609e-05, 1.0313385246263351e-05]
        let scaled = RoPE.inverseFrequencies(rotaryDim: 16, theta: 500_000, scaling: .llama3(factor: 8, lowFrequencyFactor: 1,
                                                                                              highFrequencyFactor: 4,
                                                                                              originalMaxPositionEmbeddings: 8192))
        let expected: [Float] = [1.0, 0.193922758102417, 0.03760603070259094, 0.00729266507551074, 0.0005248460220173001,
                                 3.428102354519069e-05, 6.647870577580761e-06, 1.289173155782919e-06]
        for (actual, reference) in Array(zip(base, expectedBase)) + Array(zip(scaled, expected)) {
            #expect(abs(actual - reference) <= 2e-7 * reference, "\(actual) vs \(reference)")
        }
    }

    @Test("Linear scaling divides the frequencies (positions) by the factor")
    func linearScaling() {
        let scaled = RoPE.inverseFrequencies(rotaryDim: 16, theta: 500_000, scaling: .linear(factor: 4))
        // numpy: inv / np.float32(4)
        let expected: [Float] = [0.25, 0.04848068952560425, 0.009401507675647736, 0.001823166268877685, 0.0003535533614922315,
                                 6.856204709038138e-05, 1.3295741155161522e-05, 2.578346311565838e-06]
        for (actual, reference) in zip(scaled, expected) { #expect(abs(actual - reference) <= 2e-7 * reference) }
    }

    @Test("Backward is the inverse rotation and equals finite differences", arguments: [RoPELayout.halfSplit, .interleaved])
    func backward(layout: RoPELayout) {
        let x = KernelTests.random([2, 3, 4, 8], seed: 61), dy = KernelTests.random([2, 3, 4, 8], seed: 62)
        let table = RoPE.table(positions: [0, 1, 2, 3, 7, 3, 0, 9], inverseFrequencies: RoPE.inverseFrequencies(rotaryDim: 6, theta: 100))
        let roundTrip = RoPE.backward(RoPE.forward(x, table: table, layout: layout), table: table, layout: layout)
        #expect(roundTrip.maxAbsDifference(x) < 1e-6)
        let numeric = KernelTests.numericalGradient(x, dy) { RoPE.forward($0, table: table, layout: layout) }
        #expect(RoPE.backward(dy, table: table, layout: layout).maxAbsDifference(numeric) < 1e-3)
    }
}
