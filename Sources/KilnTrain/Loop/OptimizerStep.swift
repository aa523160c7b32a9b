// One optimiser step as HF Trainer 5.24 takes it: each micro-batch's forward and backward with its loss divided by the
// label tokens of the whole step (so accumulation equals one big batch), clipping by global norm, then torch AdamW.
// `TrainingRun` and `kiln-bench train` both step through here, so the benchmark times the loop users run.
import KilnTensor

/// The graph, its adapter and AdamW's state, advanced one step at a time.
public struct OptimizerStep {
    /// The graph the adapter is attached to.
    public let graph: any TrainingGraph
    /// The trainable pairs.
    public let adapter: AdapterParameters
    /// AdamW's moments, one per parameter in `adapter.parameters` order.
    public var states: [AdamWState]
    private let optimizer: AdamW
    private let maxGradNorm: Double

    /// Fresh moments for every parameter of `adapter`.
    public init(graph: any TrainingGraph, adapter: AdapterParameters, weightDecay: Double, maxGradNorm: Double) {
        self.graph = graph
        self.adapter = adapter
        states = adapter.parameters.map { AdamWState(count: $0.value.count) }
        optimizer = AdamW(weightDecay: weightDecay)
        self.maxGradNorm = maxGradNorm
    }

    /// Trains on `batches` (one step's micro-batches) at learning rate `rate`; returns the logged loss (the sum of the
    /// micro-batches' normalised losses) and the global gradient norm before clipping.
    /// - Throws: `TrainingGraphError` for a batch the model cannot run.
    public mutating func take(_ batches: [TokenBatch], rate: Double, dropout: inout DropoutSource?) throws -> (loss: Float, gradNorm: Float) {
        let divisor = max(1, batches.reduce(0) { $0 + $1.labelTokens })
        adapter.beginStep()
        var loss: Float = 0
        for batch in batches {
            let tape = Tape()
            let result = try graph.loss(batch, tape: tape, divisor: Float(divisor), dropout: &dropout)
            tape.backward(from: result.loss, seed: Tensor(shape: [], storage: [1]))
            loss += result.loss.value.storage[0]
        }
        adapter.endStep()
        var gradients = adapter.parameters.map(\.gradient.storage)
        let norm = GradientClipping.clip(&gradients, maxNorm: maxGradNorm)
        for (index, parameter) in adapter.parameters.enumerated() {
            optimizer.step(&parameter.value.storage, gradient: gradients[index], state: &states[index], lr: rate)
        }
        adapter.syncViews()
        return (loss, norm)
    }
}
