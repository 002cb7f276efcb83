import NNRBitIO
import NNRModelIO

/// One broken rule: which rule, where, and what was found.
public struct CheckViolation: Sendable, Equatable {
    public var ruleID: String
    public var severity: CheckSeverity
    /// Index of the NNR unit (top level, or the carried unit's own index inside an NNR_AGG); nil
    /// when the violation concerns the file as a whole.
    public var unitIndex: Int?
    /// Absolute byte offset in the file and bit inside that byte (0 = most significant).
    public var byteOffset: Int
    public var bitOffset: Int
    /// The syntax element concerned (the standard's name where it has one).
    public var element: String
    public var message: String

    public init(ruleID: String, unitIndex: Int?, byteOffset: Int, bitOffset: Int = 0, element: String, message: String) {
        self.ruleID = ruleID
        self.severity = CheckRules.severity(ruleID)
        self.unitIndex = unitIndex
        self.byteOffset = byteOffset
        self.bitOffset = bitOffset
        self.element = element
        self.message = message
    }

    public init(ruleID: String, unitIndex: Int?, position: BitPosition, element: String, message: String) {
        self.init(ruleID: ruleID, unitIndex: unitIndex, byteOffset: position.byteOffset, bitOffset: position.bitOffset,
                  element: element, message: message)
    }
}

/// How a decoded tensor compares with the reference tensor of the same name.
public enum TensorComparisonResult: Sendable, Equatable {
    /// Same dtype, shape and bytes.
    case match
    /// Present in both, different: the description says how.
    case mismatch(String)
    /// Decoded, but the reference has no tensor of that name.
    case notInReference
    /// In the reference, but the bitstream did not yield it.
    case notDecoded

    public var passed: Bool { self == .match }

    public var text: String {
        switch self {
        case .match: return "match"
        case let .mismatch(s): return "mismatch: " + s
        case .notInReference: return "not in the reference"
        case .notDecoded: return "not decoded from the bitstream"
        }
    }

    public var code: String {
        switch self {
        case .match: return "match"
        case .mismatch: return "mismatch"
        case .notInReference: return "not_in_reference"
        case .notDecoded: return "not_decoded"
        }
    }
}

/// A decoded tensor as reported: identity, digest, and the reference comparison when asked for.
public struct CheckedTensor: Sendable, Equatable {
    public var name: String
    public var dtype: String
    public var shape: [Int]
    /// SHA-256 of the raw little-endian bytes (C order), lowercase hex.
    public var sha256: String
    public var unitIndex: Int
    public var comparison: TensorComparisonResult?

    public init(name: String, dtype: String, shape: [Int], sha256: String, unitIndex: Int, comparison: TensorComparisonResult? = nil) {
        self.name = name
        self.dtype = dtype
        self.shape = shape
        self.sha256 = sha256
        self.unitIndex = unitIndex
        self.comparison = comparison
    }
}

/// A reference tensor the bitstream did not produce (comparison `.notDecoded`).
public struct MissingReferenceTensor: Sendable, Equatable {
    public var name: String
    public var dtype: String
    public var shape: [Int]
}

/// The result of checking one file.
public struct FileCheckReport: Sendable {
    /// The file as named by the caller.
    public var path: String
    public var fileSize: Int
    /// Number of top-level units found (those the container could delimit).
    public var unitCount: Int
    public var violations: [CheckViolation]
    /// The decoded tensors in bitstream order.
    public var tensors: [CheckedTensor]
    /// The reference file compared with, if any.
    public var referencePath: String?
    /// Reference tensors the bitstream did not yield.
    public var missingTensors: [MissingReferenceTensor]
    /// Every rule checked on this file (all of them: a rule that does not apply passes).
    public var rulesChecked: [String]
    /// The decoded tensors themselves, when `CheckOptions.keepTensors` is set (else empty).
    public var decodedTensors: [Tensor] = []

    public init(path: String, fileSize: Int, unitCount: Int = 0, violations: [CheckViolation] = [], tensors: [CheckedTensor] = [],
                referencePath: String? = nil, missingTensors: [MissingReferenceTensor] = [], rulesChecked: [String] = CheckRules.all.map(\.id)) {
        self.path = path
        self.fileSize = fileSize
        self.unitCount = unitCount
        self.violations = violations
        self.tensors = tensors
        self.referencePath = referencePath
        self.missingTensors = missingTensors
        self.rulesChecked = rulesChecked
    }

    public var errors: [CheckViolation] { violations.filter { $0.severity == .error } }
    public var warnings: [CheckViolation] { violations.filter { $0.severity == .warning } }

    /// No error-severity violation.
    public var conforming: Bool { !violations.contains { $0.severity == .error } }

    /// nil without a reference; else whether every tensor matched and none was missing.
    public var matchesReference: Bool? {
        guard referencePath != nil else { return nil }
        return missingTensors.isEmpty && tensors.allSatisfy { $0.comparison?.passed ?? false }
    }

    /// The verdict: conforming (and, under `strict`, without warnings) and matching the reference
    /// when there is one.
    public func passed(strict: Bool = false) -> Bool {
        if !conforming { return false }
        if strict && !warnings.isEmpty { return false }
        if let m = matchesReference, !m { return false }
        return true
    }

    /// Distinct rule IDs that were violated, in rule order.
    public var violatedRuleIDs: [String] {
        let ids = Set(violations.map(\.ruleID))
        return CheckRules.all.map(\.id).filter { ids.contains($0) } + ids.filter { CheckRules.rule($0) == nil }.sorted()
    }
}
