// `kiln ledger …`: tools for the signed, hash-chained contribution ledger (issue 4).
import ArgumentParser
import Foundation

/// Ledger commands.
///
/// `verify` and `verify-receipt` join this group when the ledger is wired to the store; `dump-proofs`
/// is a hidden conformance tool (see LedgerProofsDump.swift).
struct Ledger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger",
        abstract: "Inspect and verify the signed contribution ledger.",
        discussion: """
            The ledger follows Certificate Transparency (RFC 9162): entries are hashed as RFC 8785 canonical JSON, \
            signed with Ed25519, and proven with RFC 6962 Merkle inclusion and consistency proofs.
            """,
        subcommands: [DumpProofs.self])
}
