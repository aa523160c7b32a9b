// `kiln ledger verify`: re-walk a whole ledger from a data folder or a server and check every link.
import ArgumentParser
import Foundation
import KilnData
import KilnLedger
import KilnStore

/// Why a ledger command could not do its check at all (as opposed to finding the ledger broken).
enum LedgerCommandError: Error, Equatable {
    /// `--data` names a folder without `kiln.sqlite` (and no `KILN_DATABASE_URL` is set).
    case noDatabase(path: String)
    /// The database file is not an SQLite database at all (so no entry can be named).
    case damagedDatabase(path: String, reason: String)
    /// No `--key` was given and the data folder's node key cannot be loaded.
    case noTrustedKey(reason: String)
    /// The server's `/api/ledger/key` is not an Ed25519 key.
    case unexpectedKey(String)
    /// A receipt file could not be read.
    case unreadableFile(path: String, reason: String)

    /// The sentence printed after `kiln: `.
    var message: String {
        switch self {
        case .noDatabase(let path):
            "\(path) holds no Kiln database (kiln.sqlite); point --data at a node's data folder, or set KILN_DATABASE_URL."
        case .damagedDatabase(let path, let reason):
            "\(path) is not a readable SQLite database: \(reason)."
        case .noTrustedKey(let reason):
            "no key to verify against: \(reason) Pass the node's public key with --key HEX."
        case .unexpectedKey(let reason):
            "the server's ledger key is unusable: \(reason)"
        case .unreadableFile(let path, let reason):
            "\(path): \(reason)"
        }
    }
}

/// Exit statuses of the ledger checks, so scripts can tell "broken" from "could not check".
enum LedgerExit {
    /// The ledger, or receipt, was checked and is broken.
    static let broken = ExitCode(1)
    /// The check could not run: no database, no key, server unreachable.
    static let couldNotCheck = ExitCode(2)
}

/// Parses a `--key` value: 64 hex digits, either case.
func parsePublicKey(_ text: String) throws -> [UInt8] {
    guard let bytes = try? Hex.decodeCanonical(text.lowercased(), count: 32, field: "--key") else {
        throw ValidationError("--key must be the node's Ed25519 public key: 64 hex digits, as GET /api/ledger/key gives it.")
    }
    return bytes
}

/// Refuses a server URL that is not a plain http(s) base URL.
func validateServerURL(_ url: String) throws {
    guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
          scheme == "http" || scheme == "https", let host = components.host, !host.isEmpty,
          components.query == nil, components.fragment == nil else {
        throw ValidationError("--server \(url) is not an http:// or https:// base URL (for example http://127.0.0.1:8080).")
    }
}

/// A ledger timestamp (Unix milliseconds) as ISO 8601 UTC.
func ledgerTime(_ milliseconds: Int) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return formatter.string(from: Date(timeIntervalSince1970: Double(milliseconds) / 1000))
}

extension Ledger {
    /// Re-walks the whole chain and the latest signed tree head.
    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-walk the whole ledger and check every hash, link, signature and the Merkle root.",
            discussion: """
                Every entry's hash is recomputed from its bytes (the stored text for --data: an entry not stored in \
                canonical RFC 8785 form is a break), its seq must follow the previous one, its prev_hash must be the \
                previous hash, and its Ed25519 signature must verify. Then the Merkle root of all entries must equal \
                the latest signed tree head's, whose signature must verify too.

                The key trusted is --key if given; else, with --data, the data folder's node key file; else, with \
                --server, the key the server itself publishes (weaker: pin it with --key).

                Prints "Ledger OK: …" and exits 0, or "Ledger BROKEN at seq K: …" naming the first bad entry and \
                exits 1. Exits 2 when the check cannot run (no database, no key, server unreachable).
                """)

        @Option(help: ArgumentHelp("A node's data folder to read directly (read-only; KILN_DATABASE_URL=postgres://… for PostgreSQL).",
                                   valueName: "dir"))
        var data: String?

        @Option(help: ArgumentHelp("A running server's base URL to verify over its API.", valueName: "url"))
        var server: String?

        @Option(help: ArgumentHelp("The node's Ed25519 public key, 64 hex digits, to trust instead of the local or served one.",
                                   valueName: "hex"))
        var key: String?

        /// Checks the flags before anything is opened or fetched.
        func validate() throws {
            guard (data == nil) != (server == nil) else { throw ValidationError("Give exactly one of --data DIR or --server URL.") }
            if let server { try validateServerURL(server) }
            if let key { _ = try parsePublicKey(key) }
        }

        /// Does the work described in the configuration.
        func run() async throws {
            let pinned = try key.map(parsePublicKey)
            let verdict: ChainVerdict
            do {
                if let data {
                    verdict = try await verifyDataFolder(URL(fileURLWithPath: data, isDirectory: true), pinned: pinned)
                } else {
                    verdict = try await verifyServer(server!.hasSuffix("/") ? String(server!.dropLast()) : server!, pinned: pinned)
                }
            } catch let exit as ExitCode {
                throw exit
            } catch {
                printError("kiln: \(describe(error))")
                throw LedgerExit.couldNotCheck
            }
            try report(verdict)
        }

        // MARK: - Sources

        /// Opens the data folder's database without migrating it, and walks its ledger.
        private func verifyDataFolder(_ directory: URL, pinned: [UInt8]?) async throws -> ChainVerdict {
            let databaseURL = ProcessInfo.processInfo.environment["KILN_DATABASE_URL"].flatMap { $0.isEmpty ? nil : $0 }
            let file = directory.appendingPathComponent("kiln.sqlite").path
            if databaseURL == nil {
                guard FileManager.default.fileExists(atPath: file) else { throw LedgerCommandError.noDatabase(path: directory.path) }
                try checkSQLiteHeader(file)
            }
            let keyURL = directory.appendingPathComponent(NodeKey.fileName)
            let nodeKey: Ed25519Signer?
            if pinned == nil {
                do {
                    nodeKey = try NodeKey.load(at: keyURL)
                } catch {
                    throw LedgerCommandError.noTrustedKey(reason: error.message)
                }
            } else {
                nodeKey = nil
            }
            let publicKey = pinned ?? nodeKey!.publicKey
            print("Key: \(Hex.encode(publicKey)) (\(pinned == nil ? "from \(keyURL.path)" : "from --key"))")
            // `Database.open`, not `KilnServices.open`: the latter migrates and may register a key, and a
            // verifier must never write to what it checks.
            let database = try await Database.open(dataDirectory: directory, databaseURL: databaseURL)
            // The store needs a signer to exist, but reading never signs; without the node key any will do.
            let ledger = LedgerStore(database: database, signer: nodeKey ?? Ed25519Signer())
            do {
                let verdict = try await walk(StoreChainSource(ledger: ledger), publicKey: publicKey)
                await database.close()
                return verdict
            } catch {
                await database.close()
                throw error
            }
        }

        /// Refuses a file that is not an SQLite 3 database before SQLite opens it.
        ///
        /// SQLite would turn an empty file into a new database (a write), and a failed open of a garbage file
        /// leaks a connection that SQLiteNIO asserts on in debug builds; the 16-byte magic of
        /// https://www.sqlite.org/fileformat.html §1.3.1 rules both out without opening anything.
        private func checkSQLiteHeader(_ path: String) throws {
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw LedgerCommandError.damagedDatabase(path: path, reason: "it cannot be opened for reading")
            }
            defer { try? handle.close() }
            let magic = (try? handle.read(upToCount: 16)) ?? Data()
            guard magic == Data("SQLite format 3\0".utf8) else {
                throw LedgerCommandError.damagedDatabase(
                    path: path, reason: magic.isEmpty ? "it is empty" : "it does not start with the SQLite 3 header")
            }
        }

        /// Walks a server's ledger over its API.
        private func verifyServer(_ url: String, pinned: [UInt8]?) async throws -> ChainVerdict {
            try await APIClient.with(server: url, token: nil) { client in
                /// `GET /api/ledger/key`.
                struct KeyAnswer: Decodable {
                    var algorithm: String
                    var public_key: String
                }
                let served = try await client.get("/api/ledger/key", as: KeyAnswer.self)
                guard served.algorithm == "ed25519", let servedKey = try? Hex.decodeCanonical(served.public_key, count: 32, field: "public_key") else {
                    throw LedgerCommandError.unexpectedKey("algorithm \(served.algorithm), key \(served.public_key)")
                }
                if let pinned {
                    print("Key: \(Hex.encode(pinned)) (from --key)")
                    if pinned != servedKey {
                        printError("warning: the server publishes a different key, \(served.public_key); its entries will not verify.")
                    }
                } else {
                    print("Key: \(served.public_key) (as served by \(url) itself; pinning it with --key is stronger)")
                }
                return try await walk(ServerChainSource(client: client), publicKey: pinned ?? servedKey)
            }
        }

        /// Runs the walk with a progress line on standard error.
        private func walk(_ source: some LedgerChainSource, publicKey: [UInt8]) async throws -> ChainVerdict {
            let expected = try await source.latestHead()?.treeSize ?? 0
            let bar = ProgressBar(label: "verify", totalItems: expected, totalBytes: 0)
            var shown = 0
            let verdict = try await ChainWalk.verify(source, publicKey: publicKey) { entries, bytes in
                for _ in 0..<entries { bar.completeItem() }
                bar.advance(bytes: bytes)
                shown += entries
            }
            // Short chains finish before the first redraw; only long ones get a closing progress line.
            if shown >= ChainWalk.pageSize { bar.finish() }
            return verdict
        }

        // MARK: - Output

        /// Prints the verdict and exits 1 unless the ledger is intact.
        private func report(_ verdict: ChainVerdict) throws {
            switch verdict {
            case .intact(let count, let root, let head):
                if let head {
                    print("Ledger OK: \(count) entries, root \(root), tree head signed at \(ledgerTime(head.timestamp))")
                } else {
                    print("Ledger OK: 0 entries (the ledger is empty; it has no signed tree head yet)")
                }
            case .broken(let seq, let reason):
                print("Ledger BROKEN at seq \(seq): \(reason)")
                throw LedgerExit.broken
            case .badTreeHead(let treeSize, let reason):
                print("Ledger BROKEN at the signed tree head (tree_size \(treeSize)): \(reason)")
                throw LedgerExit.broken
            }
        }
    }
}
