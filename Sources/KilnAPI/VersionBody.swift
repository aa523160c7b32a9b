// A published version and its manifest as the API writes them.

/// A version: counts, Merkle root, export address, and its manifest where the route includes it.
public struct VersionBody: Codable, Sendable {
    public var datanet: String
    public var version: Int
    /// RFC 6962 root over the items' SHA-256 digests in manifest order, lowercase hex.
    public var merkleRoot: String
    public var count: Int
    public var trainCount: Int
    public var validationCount: Int
    public var bytes: Int
    public var createdBy: String
    /// ISO 8601, UTC.
    public var createdAt: String
    public var exportURL: String?
    public var items: [Item]?

    /// One manifest entry, in manifest order.
    public struct Item: Codable, Sendable, Equatable {
        public var position: Int
        public var id: Int
        public var sha256: String
        /// `train` or `validation`.
        public var split: String
        public var contributor: String
        public var format: String
        public var bytes: Int

        /// A manifest entry.
        public init(position: Int, id: Int, sha256: String, split: String, contributor: String, format: String, bytes: Int) {
            self.position = position
            self.id = id
            self.sha256 = sha256
            self.split = split
            self.contributor = contributor
            self.format = format
            self.bytes = bytes
        }
    }

    /// A version.
    public init(datanet: String, version: Int, merkleRoot: String, count: Int, trainCount: Int, validationCount: Int, bytes: Int,
                createdBy: String, createdAt: String, exportURL: String?, items: [Item]?) {
        self.datanet = datanet
        self.version = version
        self.merkleRoot = merkleRoot
        self.count = count
        self.trainCount = trainCount
        self.validationCount = validationCount
        self.bytes = bytes
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.exportURL = exportURL
        self.items = items
    }

    enum CodingKeys: String, CodingKey {
        case datanet, version, count, bytes, items
        case merkleRoot = "merkle_root"
        case trainCount = "train_count"
        case validationCount = "validation_count"
        case createdBy = "created_by"
        case createdAt = "created_at"
        case exportURL = "export_url"
    }
}
