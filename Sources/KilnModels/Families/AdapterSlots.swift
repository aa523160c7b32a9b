// Many LoRA adapters over one loaded base, each row of a batch with its own (the idea of S-LoRA and Punica, done
// plainly): the base weights are read once per step for every row, and each adapter's low-rank update is computed
// on the rows that use it and added to theirs, unmerged. Attaching an adapter costs its own small matrices only.
import Foundation
import KilnTensor

/// The adapters attached to one loaded base, by slot; slot 0 is the base alone.
public final class AdapterSlots: @unchecked Sendable {
    /// The slots a model being loaded registers its linear layers with. Set around a load by `LoadedModel` (a task
    /// local, so every family's layers find it without each loader passing it down).
    @TaskLocal static var loading: AdapterSlots?
    /// The slot of each batch row for the forward pass in progress; nil (the default) runs no slot's update.
    @TaskLocal public static var routing: [Int]?

    private let lock = NSLock()
    private var shapes: [String: (outputs: Int, inputs: Int)] = [:]
    private var attached: [Int: AdapterUpdates] = [:]
    private var next = 1

    /// Slots for a model about to be loaded.
    public init() {}

    /// Whether the model's layers take per-row adapters (its family's linears registered themselves).
    public var isSupported: Bool { lock.withLock { !shapes.isEmpty } }

    /// Adapters attached now.
    public var count: Int { lock.withLock { attached.count } }

    /// Records a linear layer's weight name and shape, so attached updates can be checked against it.
    func register(_ name: String, outputs: Int, inputs: Int) {
        lock.withLock { shapes[name] = (outputs, inputs) }
    }

    /// Attaches `updates` (weight name → updates, in the file's row order) and returns their slot.
    /// - Throws: `ModelError.missingTensor` for a weight the model lacks, `.wrongShape` for an update that does not fit.
    public func attach(_ updates: AdapterUpdates) throws(ModelError) -> Int {
        lock.lock()
        defer { lock.unlock() }
        for (name, list) in updates {
            guard let shape = shapes[name] else { throw .missingTensor("\(name) (adapted by a LoRA adapter)") }
            for update in list {
                let rank = update.a.shape.first ?? 0
                guard update.a.shape == [rank, shape.inputs] else {
                    throw .wrongShape(tensor: "\(name) lora_A", expected: [rank, shape.inputs], found: update.a.shape)
                }
                guard update.b.shape == [shape.outputs, rank] else {
                    throw .wrongShape(tensor: "\(name) lora_B", expected: [shape.outputs, rank], found: update.b.shape)
                }
            }
        }
        let slot = next
        next += 1
        attached[slot] = updates
        return slot
    }

    /// Frees a slot; rows routed to it afterwards run the base alone.
    public func detach(_ slot: Int) {
        _ = lock.withLock { attached.removeValue(forKey: slot) }
    }

    /// Adds, for weight `name`, each routed row's adapter update to `y` (…, OC) for input `x` (…, C): the rows of a
    /// batch row are contiguous, `x`'s rows split evenly over `rows`.
    func apply(_ name: String, to y: inout Tensor, input x: Tensor, rows: [Int]) {
        let inputs = x.shape.last ?? 0, outputs = y.shape.last ?? 0
        guard inputs > 0, outputs > 0, !rows.isEmpty, x.count % (inputs * rows.count) == 0 else { return }
        let per = x.count / inputs / rows.count
        var bySlot: [Int: [Int]] = [:]
        for (row, slot) in rows.enumerated() where slot != 0 { bySlot[slot, default: []].append(row) }
        for (slot, members) in bySlot.sorted(by: { $0.key < $1.key }) {
            guard let updates = lock.withLock({ attached[slot]?[name] }), !updates.isEmpty else { continue }
            var gathered = Tensor(zeros: [members.count * per, inputs])
            gathered.storage.withUnsafeMutableBufferPointer { out in
                x.storage.withUnsafeBufferPointer { source in
                    for (index, row) in members.enumerated() {
                        let count = per * inputs
                        out.baseAddress!.advanced(by: index * count).update(from: source.baseAddress!.advanced(by: row * count), count: count)
                    }
                }
            }
            for update in updates {
                let delta = MatMul.forward(MatMul.forward(gathered, weight: update.a), weight: update.b)
                y.storage.withUnsafeMutableBufferPointer { target in
                    delta.storage.withUnsafeBufferPointer { source in
                        for (index, row) in members.enumerated() {
                            let count = per * outputs
                            let from = source.baseAddress!.advanced(by: index * count), to = target.baseAddress!.advanced(by: row * count)
                            for k in 0..<count { to[k] += update.scaling * from[k] }
                        }
                    }
                }
            }
        }
    }
}
