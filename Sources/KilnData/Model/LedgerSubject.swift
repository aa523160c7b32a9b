// What a ledger entry is about, spelled one way everywhere (`submission:12`, `version:baking:3`).

/// The key by which ledger entries about one thing are found (receipts, the explorer).
public struct LedgerSubject: Sendable, Hashable, CustomStringConvertible {
    /// The stored form.
    public let description: String

    private init(_ text: String) {
        description = text
    }

    /// A submission's decisions.
    public static func submission(_ id: Int) -> LedgerSubject {
        LedgerSubject("submission:\(id)")
    }

    /// A published version.
    public static func version(_ slug: String, _ number: Int) -> LedgerSubject {
        LedgerSubject("version:\(slug):\(number)")
    }

    /// A training job's outcome.
    public static func trainingJob(_ id: Int) -> LedgerSubject {
        LedgerSubject("training-job:\(id)")
    }

    /// A Datanet's creation.
    public static func datanet(_ slug: String) -> LedgerSubject {
        LedgerSubject("datanet:\(slug)")
    }
}
