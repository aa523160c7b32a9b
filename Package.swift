// swift-tools-version:6.0
// Kiln: an open data-and-model foundry. See ARCHITECTURE.md for the targets and how data flows.
import PackageDescription

/// The engine targets: optimised in every configuration (release already is), and compiled for x86-64 with
/// AVX2 + FMA + F16C (Haswell, 2013, and every later x86 server core). Without FMA in the target, each
/// SIMD `addingProduct` lane becomes a libm `fmaf` call, about 20× slower; Kiln's machines all have it.
let engineSettings: [SwiftSetting] = [
    .unsafeFlags(["-O"], .when(configuration: .debug)),
    .unsafeFlags(["-target-cpu", "haswell"]),
]

let package = Package(
    name: "kiln",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        .executable(name: "kiln-bench", targets: ["kiln-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/vapor/sql-kit.git", from: "3.36.0"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", from: "4.5.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", from: "2.17.0"),
        .package(url: "https://github.com/vapor/async-kit.git", from: "1.22.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "KilnStore",
            dependencies: [
                "KilnLedger",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "AsyncKit", package: "async-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // The JSON shapes the server and the CLI share (one definition, snake_case on the wire); no dependencies.
        .target(name: "KilnAPI"),
        .target(
            name: "KilnLedger",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Facts about the machine (CPU features); compiled for baseline x86-64 so its check runs on any CPU.
        .target(name: "KilnHost", dependencies: ["CBLAS"]),
        .systemLibrary(name: "CBLAS"),
        // The engine is optimised in debug builds too: its tests run real models, which unoptimised SIMD
        // loops would make minutes slower than the compile time this costs.
        .target(name: "KilnTensor", dependencies: ["CBLAS", "KilnKernels"], swiftSettings: engineSettings),
        .target(name: "KilnModels", dependencies: ["KilnTensor", "KilnKernels"], swiftSettings: engineSettings),
        // C kernels for instruction sets above the Swift floor (AVX-512), chosen at run time by what the CPU reports.
        .target(name: "KilnKernels", cSettings: [.unsafeFlags(["-O3"])]),
        // Knowledge bases: document text, chunking, sentence embeddings, BM25, HNSW and hybrid search; no storage of its own.
        .target(name: "KilnKnowledge", dependencies: ["KilnModels", "KilnTensor", "KilnKernels"], swiftSettings: engineSettings),
        // Fine-tuning: LoRA/QLoRA training, NF4, adapters; reads Datanet versions through their export files only.
        .target(
            name: "KilnTrain",
            dependencies: ["KilnAPI", "KilnModels", "KilnTensor", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: engineSettings
        ),
        .target(
            name: "KilnData",
            dependencies: [
                "KilnAPI",
                "KilnStore",
                "KilnLedger",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .target(
            name: "KilnServer",
            dependencies: [
                "KilnAPI",
                "KilnData",
                "KilnKnowledge",
                "KilnModels",
                "KilnTrain",
                "KilnStore",
                "KilnLedger",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "kiln",
            dependencies: [
                "KilnAPI",
                "KilnHost",
                "KilnServer",
                "KilnData",
                "KilnLedger",
                "KilnModels",
                "KilnStore",
                "KilnTrain",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "kiln-bench",
            dependencies: [
                "KilnHost",
                "KilnServer",
                "KilnData",
                "KilnLedger",
                "KilnStore",
                "KilnTensor",
                "KilnModels",
                "KilnKnowledge",
                "KilnTrain",
                "KilnKernels",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "KilnStoreTests", dependencies: ["KilnStore", "KilnData"]),
        .testTarget(name: "KilnDataTests", dependencies: ["KilnData", "KilnLedger", "KilnStore"]),
        .testTarget(name: "KilnModelsTests", dependencies: ["KilnModels"]),
        .testTarget(name: "KilnKnowledgeTests", dependencies: ["KilnKnowledge", "KilnModels"]),
        .testTarget(name: "KilnTensorTests", dependencies: ["KilnTensor", "KilnHost"]),
        .testTarget(name: "KilnTrainTests", dependencies: ["KilnTrain", "KilnModels"]),
        .testTarget(name: "KilnLedgerTests", dependencies: ["KilnLedger"], exclude: ["reference"]),
        .testTarget(
            name: "KilnServerTests",
            dependencies: [
                "KilnServer",
                "KilnData",
                "KilnStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)
