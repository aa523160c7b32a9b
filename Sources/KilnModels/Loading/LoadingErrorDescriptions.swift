// Sentences for the loader errors, so the CLI and server can show them as-is
// (swift-transformers' TokenizerError style: the case carries the value, the description reads as a sentence).
import Foundation

extension SafeTensorsError: LocalizedError {
    /// A one-sentence explanation naming the tensor, file or offset.
    public var errorDescription: String? {
        switch self {
        case .unreadable(let path, let reason): "Cannot read safetensors file \(path): \(reason)."
        case .fileTooSmall(let size): "A safetensors file needs at least 8 bytes; this one has \(size)."
        case .headerLengthOutOfBounds(let length, let size): "The safetensors header length \(length) does not fit in a \(size)-byte file."
        case .invalidHeaderJSON(let error): "The safetensors header is not valid JSON (\(error))."
        case .headerNotObject: "The safetensors header is not a JSON object."
        case .invalidMetadata(let reason): "The safetensors __metadata__ is invalid: \(reason)."
        case .invalidEntry(let tensor, let reason): "Tensor \(tensor) has a malformed \(reason) entry."
        case .unknownDType(let tensor, let dtype): "Tensor \(tensor) has unknown dtype \(dtype)."
        case .invalidShape(let tensor): "Tensor \(tensor) has a negative or non-integer dimension."
        case .elementCountOverflow(let tensor): "Tensor \(tensor) is too large to address."
        case .offsetsOutOfBounds(let tensor, let begin, let end, let size):
            "Tensor \(tensor) claims bytes \(begin)..<\(end) of a \(size)-byte data area."
        case .sizeMismatch(let tensor, let expected, let actual):
            "Tensor \(tensor) needs \(expected) bytes but its offsets span \(actual)."
        case .overlappingRanges(let tensor, let previous, let offset):
            "Tensor \(tensor) starts at byte \(offset), inside tensor \(previous)."
        case .uncoveredData(let offset): "Data-area bytes from offset \(offset) belong to no tensor."
        case .tensorNotFound(let name): "No tensor named \(name)."
        case .unsupportedConversion(let tensor, let dtype): "Tensor \(tensor) is \(dtype.rawValue) and cannot be read that way."
        case .invalidIndex(let reason): "The safetensors index is invalid: \(reason)."
        case .missingShard(let tensor, let file): "The index puts \(tensor) in \(file), which does not exist."
        case .tensorMissingInShard(let tensor, let file): "The index puts \(tensor) in \(file), which has no such tensor."
        }
    }
}

extension GGUFError: LocalizedError {
    /// A one-sentence explanation naming the key, tensor or offset.
    public var errorDescription: String? {
        switch self {
        case .unreadable(let path, let reason): "Cannot read GGUF file \(path): \(reason)."
        case .badMagic(let magic): "Not a GGUF file (magic 0x\(String(magic, radix: 16)))."
        case .unsupportedVersion(let v): "GGUF version \(v) is not supported (only \(GGUFReader.supportedVersions))."
        case .truncated(let offset, let needed): "The GGUF file ends before the \(needed) bytes needed at offset \(offset)."
        case .countTooLarge(let what, let count, let offset): "The GGUF \(what) \(count) at offset \(offset) exceeds the file."
        case .invalidString(let offset): "The GGUF string at offset \(offset) is not UTF-8."
        case .unknownValueType(let type, let offset): "Unknown GGUF value type \(type) at offset \(offset)."
        case .nestingTooDeep(let offset): "GGUF arrays nest too deeply at offset \(offset)."
        case .duplicateKey(let key): "GGUF metadata key \(key) appears twice."
        case .badAlignment(let a): "general.alignment \(a) is not a power of two."
        case .wrongValueType(let key): "GGUF metadata \(key) has an unexpected type."
        case .duplicateTensor(let name): "GGUF tensor \(name) appears twice."
        case .tooManyDimensions(let name, let count): "GGUF tensor \(name) has \(count) dimensions (1 to 4 allowed)."
        case .invalidDimensions(let name): "GGUF tensor \(name) has dimensions that overflow or split a block."
        case .unsupportedTensorType(let name, let type): "GGUF tensor \(name) has ggml type \(type), which Kiln does not read."
        case .misalignedOffset(let name, let offset): "GGUF tensor \(name) starts at unaligned offset \(offset)."
        case .tensorOutOfBounds(let name, let offset, let bytes): "GGUF tensor \(name) (\(bytes) bytes at \(offset)) runs past the file."
        case .overlappingTensors(let name, let previous): "GGUF tensor \(name) overlaps tensor \(previous)."
        case .tensorNotFound(let name): "No GGUF tensor named \(name)."
        case .rowsOutOfRange(let name, let rows, let count): "Rows \(rows) are outside GGUF tensor \(name) (\(count) rows)."
        }
    }
}

extension ConfigError: LocalizedError {
    /// A one-sentence explanation naming the key.
    public var errorDescription: String? {
        switch self {
        case .unreadable(let path, let reason): "Cannot read \(path): \(reason)."
        case .malformedJSON(let reason): "The config is not valid JSON: \(reason)."
        case .missingKey(let key): "The config has no \(key)."
        case .wrongType(let key, let expected): "The config's \(key) should be \(expected)."
        case .invalidValue(let key, let reason): "The config's \(key) is invalid: \(reason)."
        case .unsupportedModelType(let type): "Model type \(type) is not supported (supported: \(ModelType.allCases.map(\.rawValue).joined(separator: ", ")))."
        case .unsupportedRopeType(let type): "Rope type \(type) is not supported (supported: \(RopeConfiguration.Kind.allCases.map(\.rawValue).joined(separator: ", ")))."
        }
    }
}
