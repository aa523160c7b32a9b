// A page of any list the API returns, and the cursor of the next one.

/// `{"items":[…],"next":cursor|null}`: `next` is always present, null on the last page, so clients need no key check.
public struct PageBody<Item: Codable & Sendable>: Codable, Sendable {
    /// The items on this page.
    public var items: [Item]
    /// Pass as `?cursor=` for the next page; `nil` at the end.
    public var next: String?

    /// A page.
    public init(items: [Item], next: String?) {
        self.items = items
        self.next = next
    }

    /// Writes `next` as null at the end instead of leaving it out.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(items, forKey: .items)
        try c.encode(next, forKey: .next)
    }

    enum CodingKeys: String, CodingKey { case items, next }
}
