// `kiln ledger …`: tools for the signed, hash-chained contribution ledger (issue 4).
import ArgumentParser
import Foundation

/// Ledger commands.
///
/// `verify` re-walks a whole chain (LedgerVerify.swift), `verify-receipt` and `receipt` check and fetch
/// receipts (LedgerReceipt.swift); `dump-proofs` is a hidden conformance tool (see LedgerProofsDump.swift).
struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Inspect and verify the signed contribution ledger.",
        discussion: """
            The ledger follows Certificate Transparency (RFC 9162): entries are hashed as RFC 8785 canonical JSON, \
            signed with Ed25519, and proven with RFC 6962 Merkle inclusion and consistency proofs.
            """,
        subcommands: [Verify.self, VerifyReceipt.self, FetchReceipt.self, DumpProofs.self])
}
