// `kiln ledger verify-receipt` (offline: no server, no database) and `kiln ledger receipt` (fetch one).
import ArgumentParser
import Foundation
import KilnLedger

extension Ledger {
    /// Checks a receipt file against a trusted key, with nothing but the file and the key.
    struct VerifyReceipt: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "verify-receipt",
            abstract: "Check a receipt offline: entry hash and signature, inclusion proof, signed tree head.",
            discussion: """
                Needs no server and no database: the entry's hash is recomputed from its fields (RFC 8785), its \
                Ed25519 signature and the tree head's are checked under --key, and the RFC 9162 audit path must lead \
                from the entry to the signed root. Get the key from a source you trust, not from the receipt itself.

                Exits 0 when the receipt verifies, 1 when it does not, 2 when the file cannot be read.
                """)

        @Argument(help: ArgumentHelp("The receipt JSON file (from `kiln ledger receipt` or the API); - reads standard input.",
                                     valueName: "file"))
        var file: String

        @Option(help: ArgumentHelp("The node's Ed25519 public key, 64 hex digits (GET /api/ledger/key).", valueName: "hex"))
        var key: String

        /// Receipts are a few kilobytes; refuse to load anything absurd into memory.
        static let maxBytes = 16 * 1024 * 1024

        /// Checks the flags before anything is opened or fetched.
        func validate() throws {
            _ = try parsePublicKey(key)
            guard !file.isEmpty else { throw ValidationError("Name the receipt file (or - for standard input).") }
        }

        /// Does the work described in the configuration.
        func run() throws {
            let publicKey = try parsePublicKey(key)
            let bytes: Data
            do {
                bytes = try readInput()
            } catch {
                printError("kiln: \(describe(error))")
                throw LedgerExit.couldNotCheck
            }
            let receipt: Receipt
            do {
                receipt = try Receipt.parse(bytes)
            } catch {
                print("Receipt INVALID: \(file == "-" ? "the input" : file) is not a receipt: \(ChainWalk.sentence(error.message))")
                throw LedgerExit.broken
            }
            if let problem = LedgerVerifier.verifyReceipt(receipt, publicKey: publicKey) {
                print("Receipt INVALID: \(problem.message)")
                throw LedgerExit.broken
            }
            printVerified(receipt)
        }

        /// The file's bytes, at most `maxBytes`.
        private func readInput() throws -> Data {
            if file == "-" { return FileHandle.standardInput.readDataToEndOfFile() }
            let url = URL(fileURLWithPath: file)
            let size: Int
            do {
                size = try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int ?? 0
            } catch {
                throw LedgerCommandError.unreadableFile(path: file, reason: "cannot be read (\(error.localizedDescription))")
            }
            guard size <= Self.maxBytes else {
                throw LedgerCommandError.unreadableFile(path: file, reason: "is \(size) bytes; a receipt is a few kilobytes")
            }
            do {
                return try Data(contentsOf: url)
            } catch {
                throw LedgerCommandError.unreadableFile(path: file, reason: "cannot be read (\(error.localizedDescription))")
            }
        }

        /// Says what was verified: the event and its ids, the entry, and the tree head it is proven in.
        private func printVerified(_ receipt: Receipt) {
            let entry = receipt.entry
            let members = entry.payload.objectValue ?? [:]
            // Ids (and the Datanet and version they belong to) first: they say whose event this is.
            let isSubject = { (key: String) in key.hasSuffix("_id") || ["datanet", "slug", "version"].contains(key) }
            let subject = members.keys.filter(isSubject).sorted().map { "\($0) \(scalar(members[$0]!))" }
            let rest = members.keys.filter { !isSubject($0) }.sorted().map { "\($0) \(scalar(members[$0]!))" }
            print("Receipt OK: \(entry.kind) at seq \(entry.seq)" + (subject.isEmpty ? "" : ", " + subject.joined(separator: ", ")))
            if !rest.isEmpty { print("  payload     \(rest.joined(separator: ", "))") }
            print("  entry       hash \(entry.hash), appended \(ledgerTime(entry.time)), signature valid")
            print("  included in tree size \(receipt.inclusion.treeSize), root \(receipt.treeHead.root) "
                  + "(audit path of \(receipt.inclusion.auditPath.count) hashes)")
            print("  tree head   signed at \(ledgerTime(receipt.treeHead.timestamp)), signature valid")
            print("  key         \(receipt.publicKey.lowercased())")
        }

        /// A payload value as text: strings bare, integers without a decimal point, anything else as JSON.
        private func scalar(_ value: CanonicalJSON) -> String {
            if let text = value.stringValue { return text }
            if let number = value.intValue { return String(number) }
            return String(decoding: value.canonicalBytes, as: UTF8.self)
        }
    }

    /// Downloads a receipt for a submission or a Datanet version.
    struct FetchReceipt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "receipt",
            abstract: "Download the ledger receipt for a submission or a Datanet version.",
            discussion: """
                kiln ledger receipt --submission 42 --out receipt-42.json
                kiln ledger receipt --datanet cats --version 3 --out cats-v3.json

                A submission that is not accepted is visible only to its contributor and curators: pass their \
                token (--token or KILN_TOKEN). The file is saved exactly as the server sent it; check it with \
                `kiln ledger verify-receipt FILE --key HEX`.
                """)

        @OptionGroup var client: ClientOptions

        @Option(help: ArgumentHelp("The submission's id.", valueName: "id"))
        var submission: Int?

        @Option(help: ArgumentHelp("The Datanet's slug, with --version, for a version's receipt.", valueName: "slug"))
        var datanet: String?

        @Option(help: ArgumentHelp("The version number, with --datanet.", valueName: "n"))
        var version: Int?

        @Option(help: ArgumentHelp("Where to save the receipt (default: standard output).", valueName: "file"))
        var out: String?

        /// Checks the flags before anything is opened or fetched.
        func validate() throws {
            let byVersion = datanet != nil || version != nil
            guard (submission != nil) != byVersion else {
                throw ValidationError("Give --submission ID, or --datanet SLUG with --version N.")
            }
            if let submission, submission <= 0 { throw ValidationError("--submission must be a positive id.") }
            if byVersion {
                guard let datanet, !datanet.isEmpty, let version else { throw ValidationError("--datanet and --version go together.") }
                guard version > 0 else { throw ValidationError("--version must be a positive number.") }
            }
        }

        /// Does the work described in the configuration.
        func run() async throws {
            let path = submission.map { "/api/submissions/\($0)/receipt" }
                ?? "/api/datanets/\(pathSegment(datanet!))/versions/\(version!)/receipt"
            let data = try await client.withClient { client in try await client.getData(path) }
            let receipt: Receipt
            do {
                receipt = try Receipt.parse(data)
            } catch {
                printError("kiln: the server's answer to \(path) is not a receipt: \(ChainWalk.sentence(error.message))")
                throw ExitCode(1)
            }
            guard let out else { return printRawJSON(data) }
            do {
                try data.write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                printError("kiln: cannot write \(out): \(error.localizedDescription)")
                throw ExitCode(1)
            }
            print("Saved the receipt for \(receipt.entry.kind) (ledger seq \(receipt.entry.seq), tree size \(receipt.treeHead.treeSize)) to \(out).")
            print("Check it offline with: kiln ledger verify-receipt \(out) --key <the node's public key, from a source you trust>")
        }
    }
}
