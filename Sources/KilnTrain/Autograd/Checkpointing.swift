// Gradient checkpointing (Chen et al. 2016): a block's forward runs without recording, keeping only its input; its
// backward runs the block again on a private tape and differentiates that. Activation memory falls from every
// intermediate of every block to one input per block, for one more forward pass of compute.
import KilnTensor

extension Tape {
    /// Runs `block` on `input`, recording one node whose pullback recomputes the block. `dropout` is replayed from the
    /// same state in the recomputation, so the masks (and the gradients) are those of the first pass.
    public func checkpoint(_ input: Variable, dropout: inout DropoutSource?,
                           _ block: @escaping (Tape, Variable, inout DropoutSource?) throws -> Variable) rethrows -> Variable {
        guard isRecording else { return try block(self, input, &dropout) }
        let start = dropout
        let quiet = Tape(recording: false)
        let output = try block(quiet, quiet.constant(input.value), &dropout)
        let value = input.value
        return record(output.value, inputs: [input], tracked: true) { dy in
            let inner = Tape()
            var gradient: Tensor?
            let leaf = inner.record(value, inputs: [], tracked: true) { g in
                gradient = g
                return []
            }
            var replay = start
            // The block ran once with these inputs already; a throw here would have happened then.
            guard let again = try? block(inner, leaf, &replay) else { return [nil] }
            inner.backward(from: again, seed: dy)
            return [gradient]
        }
    }
}
