// A timing check run by hand, not a timed test: it only runs when KILN_TOKENIZER_BENCH is set.
//   swift build --build-tests && KILN_TOKENIZER_BENCH=1 swift test --skip-build --filter TokenizerSpeed
// It prints MB/s of English text (the Debian license texts) per style on one core.

import Foundation
import Testing
@testable import KilnModels

@Suite("TokenizerSpeed", .serialized)
struct TokenizerSpeedCheck {
    @Test("Encode throughput on English text", .enabled(if: ProcessInfo.processInfo.environment["KILN_TOKENIZER_BENCH"] != nil),
          arguments: ["gpt2", "llama3", "qwen2", "mistral", "llama2", "chatglm3", "minilm"])
    func throughput(style: String) throws {
        let folder = URL(fileURLWithPath: "/usr/share/common-licenses")
        var text = ""
        for name in try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted() {
            if let s = try? String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8) { text += s }
        }
        let tok = try Tokenizer(folder: tokenizerFixtures.appendingPathComponent(style))
        // Encode line by line (as a data pipeline would), then the whole text once more with a warm cache.
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let bytes = Double(text.utf8.count)
        var count = 0
        let cold = ContinuousClock().measure { for l in lines { count += tok.encode(l, addSpecialTokens: false).count } }
        let warm = ContinuousClock().measure { count += tok.encode(text, addSpecialTokens: false).count }
        func mbps(_ d: Duration) -> Double { bytes / 1e6 / (Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18) }
        print("TOKENIZER-SPEED \(style): \(Int(bytes)) bytes, cold \(String(format: "%.2f", mbps(cold))) MB/s, warm \(String(format: "%.2f", mbps(warm))) MB/s, \(count) ids")
        #expect(count > 0)
    }
}
