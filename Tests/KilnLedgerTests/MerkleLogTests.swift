// Exhaustive checks of MerkleLog against the RFC's recursive definitions, tamper detection, errors and speed.
import Crypto
import Foundation
import KilnLedger
import Testing

@Suite("MerkleLog")
struct MerkleLogTests {
    static let leaves64 = MerkleProofTests.leafHashes(64)

    @Test("Every inclusion proof for sizes 1…64 equals the recursive definition and verifies; tampering fails")
    func exhaustiveInclusion() throws {
        let log = try MerkleLog(leafHashes: Self.leaves64)
        var checked = 0
        for size in 1...64 {
            let prefix = Array(Self.leaves64[..<size])
            let root = try log.root(size: size)
            #expect(root == MerkleTree.root(leafHashes: prefix))
            for index in 0..<size {
                let proof = try log.inclusionProof(index: index, size: size)
                #expect(proof == (try MerkleTree.inclusionProof(index: index, leafHashes: prefix)))
                let leaf = prefix[index]
                #expect(MerkleTree.verifyInclusion(leafHash: leaf, index: index, treeSize: size, proof: proof, root: root))
                // Wrong index, leaf, root, a flipped bit in any element, a dropped or an extra element: all fail.
                if size > 1 {
                    #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: (index + 1) % size, treeSize: size,
                                                        proof: proof, root: root))
                    #expect(!MerkleTree.verifyInclusion(leafHash: prefix[(index + 1) % size], index: index,
                                                        treeSize: size, proof: proof, root: root))
                }
                // (A wrong tree size with the same root can verify: RFC 9162 authenticates the size through the
                // signed tree head, which signs root and size together, not through the proof.)
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: index, treeSize: size, proof: proof,
                                                    root: Self.flip(root, at: 0)))
                for position in proof.indices {
                    var bad = proof
                    bad[position] = Self.flip(bad[position], at: position % 32)
                    #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: index, treeSize: size, proof: bad, root: root))
                }
                if !proof.isEmpty {
                    #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: index, treeSize: size,
                                                        proof: Array(proof.dropLast()), root: root))
                }
                #expect(!MerkleTree.verifyInclusion(leafHash: leaf, index: index, treeSize: size, proof: proof + [root],
                                                    root: root))
                checked += 1
            }
        }
        #expect(checked == 64 * 65 / 2)
    }

    @Test("Every consistency pair for sizes 1…64 equals the recursive definition and verifies; tampering fails")
    func exhaustiveConsistency() throws {
        let log = try MerkleLog(leafHashes: Self.leaves64)
        var checked = 0
        for second in 1...64 {
            let prefix = Array(Self.leaves64[..<second])
            let secondRoot = try log.root(size: second)
            for first in 1...second {
                let firstRoot = try log.root(size: first)
                let proof = try log.consistencyProof(first: first, second: second)
                #expect(proof == (try MerkleTree.consistencyProof(first: first, leafHashes: prefix)))
                #expect(MerkleTree.verifyConsistency(first: first, second: second, firstRoot: firstRoot,
                                                     secondRoot: secondRoot, proof: proof))
                #expect(!MerkleTree.verifyConsistency(first: first, second: second, firstRoot: Self.flip(firstRoot, at: 3),
                                                      secondRoot: secondRoot, proof: proof))
                #expect(!MerkleTree.verifyConsistency(first: first, second: second, firstRoot: firstRoot,
                                                      secondRoot: Self.flip(secondRoot, at: 5), proof: proof))
                for position in proof.indices {
                    var bad = proof
                    bad[position] = Self.flip(bad[position], at: 31)
                    #expect(!MerkleTree.verifyConsistency(first: first, second: second, firstRoot: firstRoot,
                                                          secondRoot: secondRoot, proof: bad))
                }
                if first < second {
                    #expect(!MerkleTree.verifyConsistency(first: first, second: second, firstRoot: firstRoot,
                                                          secondRoot: secondRoot, proof: Array(proof.dropLast())))
                    #expect(!MerkleTree.verifyConsistency(first: first, second: second, firstRoot: firstRoot,
                                                          secondRoot: secondRoot, proof: proof + [secondRoot]))
                }
                checked += 1
            }
        }
        #expect(checked == 64 * 65 / 2)
    }

    @Test("Out-of-range requests are typed errors")
    func errors() throws {
        let log = try MerkleLog(leafHashes: MerkleProofTests.leafHashes(5))
        #expect(throws: LedgerError.indexOutOfRange(index: 5, size: 5)) { try log.inclusionProof(index: 5, size: 5) }
        #expect(throws: LedgerError.indexOutOfRange(index: -1, size: 3)) { try log.inclusionProof(index: -1, size: 3) }
        #expect(throws: LedgerError.sizeOutOfRange(size: 6, count: 5)) { try log.inclusionProof(index: 0, size: 6) }
        #expect(throws: LedgerError.sizeOutOfRange(size: 6, count: 5)) { try log.root(size: 6) }
        #expect(throws: LedgerError.invalidConsistencyRange(first: 0, second: 3)) { try log.consistencyProof(first: 0, second: 3) }
        #expect(throws: LedgerError.invalidConsistencyRange(first: 4, second: 3)) { try log.consistencyProof(first: 4, second: 3) }
        #expect(throws: LedgerError.sizeOutOfRange(size: 9, count: 5)) { try log.consistencyProof(first: 1, second: 9) }
        #expect(throws: LedgerError.invalidHashLength(31)) { var copy = log; try copy.append(leafHash: [UInt8](repeating: 0, count: 31)) }
        #expect(throws: LedgerError.indexOutOfRange(index: 3, size: 3)) {
            try MerkleTree.inclusionProof(index: 3, leafHashes: MerkleProofTests.leafHashes(3))
        }
        #expect(throws: LedgerError.invalidConsistencyRange(first: 0, second: 3)) {
            try MerkleTree.consistencyProof(first: 0, leafHashes: MerkleProofTests.leafHashes(3))
        }
        #expect(!MerkleTree.verifyConsistency(first: 0, second: 3, firstRoot: [UInt8](repeating: 0, count: 32),
                                              secondRoot: try log.root(size: 3), proof: []))
        #expect(try MerkleLog().root(size: 0) == Array(SHA256.hash(data: [UInt8]())))
    }

    @Test("At 1 000 000 leaves an inclusion proof takes well under a millisecond")
    func millionLeaves() throws {
        var log = MerkleLog()
        var seed = Array(SHA256.hash(data: Array("kiln".utf8)))
        for _ in 0..<1_000_000 {
            try log.append(leafHash: seed)
            seed[0] &+= 1
            if seed[0] == 0 { seed[1] &+= 1 }
        }
        #expect(log.count == 1_000_000)
        let clock = ContinuousClock()
        let indices = [0, 1, 524_287, 524_288, 777_777, 999_999]
        var proofs: [[[UInt8]]] = []
        let elapsed = try clock.measure {
            for index in indices { proofs.append(try log.inclusionProof(index: index, size: 1_000_000)) }
        }
        let perProof = elapsed / indices.count
        #expect(perProof < .milliseconds(1), "inclusion proof took \(perProof)")
        let root = try log.root(size: 1_000_000)
        for (index, proof) in zip(indices, proofs) {
            #expect(MerkleTree.verifyInclusion(leafHash: try log.leafHash(at: index), index: index, treeSize: 1_000_000,
                                               proof: proof, root: root))
        }
        let consistency = try log.consistencyProof(first: 654_321, second: 1_000_000)
        #expect(MerkleTree.verifyConsistency(first: 654_321, second: 1_000_000, firstRoot: try log.root(size: 654_321),
                                             secondRoot: root, proof: consistency))
    }

    static func flip(_ bytes: [UInt8], at index: Int) -> [UInt8] {
        var copy = bytes
        copy[index % copy.count] ^= 0x01
        return copy
    }
}
