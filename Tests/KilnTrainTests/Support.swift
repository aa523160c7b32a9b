// Helpers the KilnTrain tests share.
import Foundation
import KilnModels
@testable import KilnTrain

/// The largest |a[i] − b[i]| over two equally long arrays.
func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

/// A rank-4 all-linear adapter on the GGUF base's training graph whose B matrices are random (PEFT starts B at zero, so
/// an untouched adapter would change nothing), with the graph it is attached to.
func randomAdapter(on base: URL) throws -> (graph: TrainingGraph, parameters: AdapterParameters) {
    var graph = try TrainingGraphs.make(try BaseCheckpoint.load(base))
    let parameters = try AdapterParameters.attach(to: &graph, config: LoRAConfig(r: 4, alpha: 8, targetModules: ["all-linear"]), seed: 3)
    var random = DropoutSource(seed: 11)
    for parameter in parameters.parameters where parameter.name.contains("lora_B") {
        parameter.value.storage = parameter.value.storage.map { _ in (random.nextUnit() - 0.5) * 0.04 }
    }
    return (graph, parameters)
}
