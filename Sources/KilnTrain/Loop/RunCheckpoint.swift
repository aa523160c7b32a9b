// A run's checkpoint: the adapter (as PEFT saves it), AdamW's moments and step count, and the trainer state (step,
// epoch, dropout generator), written into a temporary folder and renamed into place, so a `kill -9` at any moment
// leaves either the previous checkpoint or the new one whole.
import Foundation
import KilnModels
import KilnTensor

/// The state a run resumes from.
public struct RunCheckpoint: Sendable {
    /// Optimiser steps completed.
    public var step: Int
    /// Adapter values, PEFT name → (shape, values).
    public var parameters: [String: [Float]]
    /// AdamW moments by PEFT name, and the shared step count.
    public var expAvg: [String: [Float]]
    public var expAvgSq: [String: [Float]]
    public var adamStep: Int
    /// The dropout generator's state.
    public var dropoutState: UInt64

    /// The folder name of step `step`'s checkpoint.
    public static func folderName(step: Int) -> String { String(format: "step-%06d", step) }

    /// Writes the checkpoint of `run` under `output/checkpoints/step-N` atomically; returns its folder.
    /// - Throws: file-system errors.
    static func write(step: Int, epoch: Int, adapter: AdapterParameters, states: [AdamWState], dropout: DropoutSource?,
                      baseModel: String, output: URL) throws -> URL {
        let root = output.appendingPathComponent("checkpoints")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        let final = root.appendingPathComponent(folderName(step: step))
        let temporary = root.appendingPathComponent(".tmp-\(folderName(step: step))-\(ProcessInfo.processInfo.processIdentifier)")
        try? FileManager.default.removeItem(at: temporary)
        try adapter.adapter().save(to: temporary, baseModel: baseModel)
        var optimizer = SafeTensorsWriter()
        for (parameter, state) in zip(adapter.parameters, states) {
            optimizer.add("adam.exp_avg.\(parameter.name)", shape: parameter.value.shape, values: state.expAvg)
            optimizer.add("adam.exp_avg_sq.\(parameter.name)", shape: parameter.value.shape, values: state.expAvgSq)
        }
        try optimizer.write(to: temporary.appendingPathComponent("optimizer.safetensors"))
        let state: [String: Any] = ["step": step, "epoch": epoch, "adam_step": states.first?.step ?? 0,
                                    "dropout_state": String(dropout?.state ?? 0)]
        try JSONSerialization.data(withJSONObject: state, options: [.sortedKeys, .prettyPrinted])
            .write(to: temporary.appendingPathComponent("trainer_state.json"))
        try? FileManager.default.removeItem(at: final)
        try FileManager.default.moveItem(at: temporary, to: final)
        return final
    }

    /// The newest whole checkpoint under `output/checkpoints`, or nil when there is none.
    /// - Throws: `TrainingRunError.badCheckpoint` for a checkpoint folder that cannot be read.
    static func latest(output: URL) throws -> RunCheckpoint? {
        let root = output.appendingPathComponent("checkpoints")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        guard let newest = names.filter({ $0.hasPrefix("step-") }).sorted().last else { return nil }
        return try read(root.appendingPathComponent(newest))
    }

    /// Reads one checkpoint folder.
    /// - Throws: `TrainingRunError.badCheckpoint`.
    static func read(_ folder: URL) throws -> RunCheckpoint {
        do {
            let state = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("trainer_state.json"))) as? [String: Any]
            guard let step = state?["step"] as? Int, let adamStep = state?["adam_step"] as? Int,
                  let dropout = (state?["dropout_state"] as? String).flatMap(UInt64.init) else {
                throw TrainingRunError.badCheckpoint(path: folder.path, reason: "trainer_state.json lacks step, adam_step or dropout_state")
            }
            let adapter = try SafeTensorsReader(url: folder.appendingPathComponent("adapter_model.safetensors"))
            let optimizer = try SafeTensorsReader(url: folder.appendingPathComponent("optimizer.safetensors"))
            var checkpoint = RunCheckpoint(step: step, parameters: [:], expAvg: [:], expAvgSq: [:], adamStep: adamStep, dropoutState: dropout)
            for name in adapter.tensorNames {
                checkpoint.parameters[name] = try adapter.floats(name)
                checkpoint.expAvg[name] = try optimizer.floats("adam.exp_avg.\(name)")
                checkpoint.expAvgSq[name] = try optimizer.floats("adam.exp_avg_sq.\(name)")
            }
            return checkpoint
        } catch let error as TrainingRunError {
            throw error
        } catch {
            throw TrainingRunError.badCheckpoint(path: folder.path, reason: "\(error)")
        }
    }
}
