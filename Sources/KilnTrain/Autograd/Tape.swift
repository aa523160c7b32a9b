// Reverse-mode differentiation for one forward pass: each operation records a pullback that turns the gradient of
// its output into gradients of its inputs, and `backward` runs them newest first. Only values a trainable
// parameter reaches get a node, so frozen paths (the embedding, the base weights) cost no gradient work, and a
// value lives exactly as long as some pullback holds it.
import KilnTensor

/// A value of a recorded computation: its tensor and, when a gradient must reach it, its node on the tape.
public struct Variable {
    /// The forward value.
    public let value: Tensor
    /// The node that produced it; nil for a constant (no trainable parameter upstream).
    let node: Int?

    /// True when a gradient flows back through this value.
    public var needsGradient: Bool { node != nil }

    /// The shape of the value.
    public var shape: [Int] { value.shape }
}

/// A trainable tensor: value and accumulated gradient (a LoRA A or B matrix).
public final class Parameter {
    /// PEFT's name for it (`base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight`).
    public let name: String
    /// The current value.
    public var value: Tensor
    /// Σ of gradients since the last `zeroGradient` (zeros, never absent: torch steps a zero gradient too).
    public var gradient: Tensor

    /// A parameter with a zero gradient.
    public init(name: String, value: Tensor) {
        self.name = name
        self.value = value
        gradient = Tensor(zeros: value.shape)
    }

    /// Clears the accumulated gradient.
    public func zeroGradient() {
        gradient = Tensor(zeros: value.shape)
    }
}

/// The record of one forward pass.
public final class Tape {
    private struct Node {
        let inputs: [Int?]
        let pullback: (Tensor) -> [Tensor?]
    }

    private var nodes: [Node] = []
    /// False for an evaluation pass: nothing is recorded, so no activation is kept.
    public let isRecording: Bool

    /// An empty tape; `recording: false` makes every result a constant (evaluation).
    public init(recording: Bool = true) {
        isRecording = recording
    }

    /// A value no gradient needs to reach.
    public func constant(_ value: Tensor) -> Variable { Variable(value: value, node: nil) }

    /// Records `value`, computed from `inputs`. `pullback` maps the output's gradient to one gradient per input (nil for
    /// an input without a node, or none); it may also accumulate into parameters. `tracked` forces a node when the op
    /// holds parameters of its own; otherwise a node is made only when some input has one.
    public func record(_ value: Tensor, inputs: [Variable], tracked: Bool = false,
                       pullback: @escaping (Tensor) -> [Tensor?]) -> Variable {
        guard isRecording, tracked || inputs.contains(where: \.needsGradient) else { return Variable(value: value, node: nil) }
        nodes.append(Node(inputs: inputs.map(\.node), pullback: pullback))
        return Variable(value: value, node: nodes.count - 1)
    }

    /// Runs every pullback from `output` back, seeding its gradient with `seed` (same shape as the output), and empties
    /// the tape. Gradients land in the parameters the pullbacks name.
    public func backward(from output: Variable, seed: Tensor) {
        guard let start = output.node else {
            nodes.removeAll()
            return
        }
        precondition(seed.shape == output.value.shape, "seed \(seed.shape) for output \(output.value.shape)")
        var gradients = [Tensor?](repeating: nil, count: nodes.count)
        gradients[start] = seed
        for index in stride(from: start, through: 0, by: -1) {
            guard let gradient = gradients[index] else { continue }
            gradients[index] = nil
            let node = nodes[index]
            let inputGradients = node.pullback(gradient)
            for (input, inputGradient) in zip(node.inputs, inputGradients) {
                guard let input, let inputGradient else { continue }
                if gradients[input] == nil {
                    gradients[input] = inputGradient
                } else {
                    TensorMath.accumulate(inputGradient, into: &gradients[input]!)
                }
            }
        }
        nodes.removeAll()
    }

    /// Drops the record without differentiating (an evaluation pass).
    public func reset() { nodes.removeAll() }
}
