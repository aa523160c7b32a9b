// `kiln ledger dump-proofs`: every Merkle proof of a synthetic log, for checking with an outside RFC 9162 verifier.
//
// Hidden from `kiln ledger --help` because it is a conformance tool, not a user command; it is what
// Tests/ledger/test_proofs_reference.py runs. Leaf i has input SHA-256("leaf i") (an entry-hash stand-in),
// hashed into the tree as an RFC 6962 leaf. Output is one JSON object per line, all hashes lowercase hex:
//   {"type":"inclusion","index":i,"size":n,"leaf":<leaf hash>,"path":[…],"root":<root of n leaves>}
//       for every 1 ≤ n ≤ max and 0 ≤ i < n;
//   {"type":"consistency","first":m,"second":n,"proof":[…],"first_root":…,"second_root":…}
//       for every 1 ≤ m ≤ n ≤ max (the proof is empty when m == n).
import ArgumentParser
import Crypto
import Foundation
import KilnLedger

extension Ledger {
    /// Prints all inclusion and consistency proofs of a synthetic log as JSON lines.
    struct DumpProofs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "dump-proofs",
            abstract: "Print every inclusion and consistency proof of a synthetic log as JSON lines (conformance testing).",
            shouldDisplay: false)

        @Option(help: "The largest tree size; proofs cover every size from 1 to this (1 to 2048).")
        var max: Int = 300

        func validate() throws {
            // 2048 leaves is already ~4 million lines; more is never useful for a conformance run.
            guard (1...2048).contains(max) else { throw ValidationError("--max must be between 1 and 2048.") }
        }

        func run() throws {
            var log = MerkleLog()
            for index in 0..<max { log.append(leafInput: Array(SHA256.hash(data: Array("leaf \(index)".utf8)))) }
            let roots = try (0...max).map { Hex.encode(try log.root(size: $0)) }
            var out = BufferedOutput()
            for size in 1...max {
                for index in 0..<size {
                    let path = try log.inclusionProof(index: index, size: size)
                    out.write("{\"type\":\"inclusion\",\"index\":\(index),\"size\":\(size),"
                        + "\"leaf\":\"\(Hex.encode(try log.leafHash(at: index)))\",\"path\":\(jsonList(path)),"
                        + "\"root\":\"\(roots[size])\"}\n")
                }
            }
            for second in 1...max {
                for first in 1...second {
                    let proof = try log.consistencyProof(first: first, second: second)
                    out.write("{\"type\":\"consistency\",\"first\":\(first),\"second\":\(second),"
                        + "\"proof\":\(jsonList(proof)),\"first_root\":\"\(roots[first])\",\"second_root\":\"\(roots[second])\"}\n")
                }
            }
            out.flush()
        }

        private func jsonList(_ hashes: [[UInt8]]) -> String {
            "[" + hashes.map { "\"\(Hex.encode($0))\"" }.joined(separator: ",") + "]"
        }
    }
}

/// Collects output and writes it to standard output in large chunks (the dump is tens of megabytes).
private struct BufferedOutput {
    private var buffer: [UInt8] = []

    mutating func write(_ text: String) {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 1 << 20 { flush() }
    }

    mutating func flush() {
        FileHandle.standardOutput.write(Data(buffer))
        buffer.removeAll(keepingCapacity: true)
    }
}
