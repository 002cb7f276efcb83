import NNRBitIO

/// nnr_start_unit_header(): NNR_STR. The payload is empty.
public struct NNRStartUnitHeader: Sendable, Equatable {
    /// general_profile_idc u(8).
    public var generalProfileIdc: Int = 1
    public init(generalProfileIdc: Int = 1) { self.generalProfileIdc = generalProfileIdc }
    public mutating func visit<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.u("general_profile_idc", 8, &generalProfileIdc)
    }
}

/// sparsification_performance_map(). Loop bounds (count − 1) as NNCodec reads them.
public struct SparsificationPerformanceMap: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var sparsificationThreshold: Float = 0
        public var nonZeroRatio: Float = 0
        public var nnAccuracy: Float = 0
        public var classBitmask: Int = 0
        public var classAccuracies: [Float] = []
        public init() {}
    }
    /// spm_count_thresholds u(8).
    public var countThresholds: Int = 1
    public var entries: [Entry] = []
    public init() {}

    public mutating func visit<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.u("spm_count_thresholds", 8, &countThresholds)
        let n = Swift.max(0, countThresholds - 1)
        if v.isReading { entries = Array(repeating: Entry(), count: n) }
        guard entries.count == n else { throw v.error(.invalidValue("spm_count_thresholds − 1 ≠ number of entries"), "spm_count_thresholds") }
        for i in 0..<n {
            try v.flt("sparsification_threshold[\(i)]", &entries[i].sparsificationThreshold)
            try v.flt("non_zero_ratio[\(i)]", &entries[i].nonZeroRatio)
            try v.flt("spm_nn_accuracy[\(i)]", &entries[i].nnAccuracy)
            var classes = entries[i].classAccuracies.count
            try v.u("spm_count_classes[\(i)]", 8, &classes)
            try v.ue("spm_class_bitmask[\(i)]", 7, &entries[i].classBitmask)
            if v.isReading { entries[i].classAccuracies = Array(repeating: 0, count: classes) }
            for j in 0..<classes { try v.flt("spm_nn_class_accuracy[\(i)][\(j)]", &entries[i].classAccuracies[j]) }
        }
    }
}

/// pruning_performance_map().
public struct PruningPerformanceMap: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var pruningRatio: Float = 0
        public var nnAccuracy: Float = 0
        public var classBitmask: Int = 0
        public var classAccuracies: [Float] = []
        public init() {}
    }
    /// ppm_count_pruning_ratios u(8).
    public var countPruningRatios: Int = 1
    public var entries: [Entry] = []
    public init() {}

    public mutating func visit<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.u("ppm_count_pruning_ratios", 8, &countPruningRatios)
        let n = Swift.max(0, countPruningRatios - 1)
        if v.isReading { entries = Array(repeating: Entry(), count: n) }
        guard entries.count == n else { throw v.error(.invalidValue("ppm_count_pruning_ratios − 1 ≠ number of entries"), "ppm_count_pruning_ratios") }
        for i in 0..<n {
            try v.flt("pruning_ratio[\(i)]", &entries[i].pruningRatio)
            try v.flt("ppm_nn_accuracy[\(i)]", &entries[i].nnAccuracy)
            var classes = entries[i].classAccuracies.count
            try v.u("ppm_count_classes[\(i)]", 8, &classes)
            try v.ue("ppm_class_bitmask[\(i)]", 7, &entries[i].classBitmask)
            if v.isReading { entries[i].classAccuracies = Array(repeating: 0, count: classes) }
            for j in 0..<classes { try v.flt("ppm_nn_class_accuracy[\(i)][\(j)]", &entries[i].classAccuracies[j]) }
        }
    }
}

/// unification_performance_map(). NNCodec loops over upm_class_bitmask for the class accuracies
/// (see Spec/divergences.md); we read what it reads.
public struct UnificationPerformanceMap: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var reshapedTensorDimensions: [Int] = []   // count_reshaped_tensor_dimension − 1 entries
        public var countReshapedTensorDimension: Int = 1
        public var countSuperBlockDimension: Int = 1
        public var superBlockDimensions: [Int] = []
        public var countBlockDimension: Int = 1
        public var blockDimensions: [Int] = []
        public var unificationThreshold: Float = 0
        public var nnAccuracy: Float = 0
        public var countClasses: Int = 0
        public var classBitmask: Int = 0
        public var classAccuracies: [Float] = []
        public init() {}
    }
    /// upm_count_thresholds u(8).
    public var countThresholds: Int = 1
    public var entries: [Entry] = []
    public init() {}

    public mutating func visit<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.u("upm_count_thresholds", 8, &countThresholds)
        let n = Swift.max(0, countThresholds - 1)
        if v.isReading { entries = Array(repeating: Entry(), count: n) }
        guard entries.count == n else { throw v.error(.invalidValue("upm_count_thresholds − 1 ≠ number of entries"), "upm_count_thresholds") }
        for i in 0..<n {
            try v.ue("count_reshaped_tensor_dimension[\(i)]", 1, &entries[i].countReshapedTensorDimension)
            let r = Swift.max(0, entries[i].countReshapedTensorDimension - 1)
            try v.checkCount(r, "count_reshaped_tensor_dimension", limit: v.limits.maxDimensions)
            if v.isReading { entries[i].reshapedTensorDimensions = Array(repeating: 0, count: r) }
            for j in 0..<r { try v.ue("reshaped_tensor_dimensions[\(i)][\(j)]", 7, &entries[i].reshapedTensorDimensions[j]) }
            try v.byteAlignment()
            try v.u("count_super_block_dimension[\(i)]", 8, &entries[i].countSuperBlockDimension)
            let s = Swift.max(0, entries[i].countSuperBlockDimension - 1)
            if v.isReading { entries[i].superBlockDimensions = Array(repeating: 0, count: s) }
            for j in 0..<s { try v.u("super_block_dimensions[\(i)][\(j)]", 8, &entries[i].superBlockDimensions[j]) }
            try v.u("count_block_dimension[\(i)]", 8, &entries[i].countBlockDimension)
            let b = Swift.max(0, entries[i].countBlockDimension - 1)
            if v.isReading { entries[i].blockDimensions = Array(repeating: 0, count: b) }
            for j in 0..<b { try v.u("block_dimensions[\(i)][\(j)]", 8, &entries[i].blockDimensions[j]) }
            try v.flt("unification_threshold[\(i)]", &entries[i].unificationThreshold)
            try v.flt("upm_nn_accuracy[\(i)]", &entries[i].nnAccuracy)
            try v.u("upm_count_classes[\(i)]", 8, &entries[i].countClasses)
            try v.ue("upm_class_bitmask[\(i)]", 7, &entries[i].classBitmask)
            let c = entries[i].classBitmask
            try v.checkCount(c, "upm_class_bitmask", limit: v.limits.maxListEntries, bitsPerEntry: 32)
            if v.isReading { entries[i].classAccuracies = Array(repeating: 0, count: c) }
            guard entries[i].classAccuracies.count == c else { throw v.error(.invalidValue("class accuracies ≠ upm_class_bitmask"), "upm_nn_class_accuracy") }
            for j in 0..<c { try v.flt("upm_nn_class_accuracy[\(i)][\(j)]", &entries[i].classAccuracies[j]) }
        }
    }
}

/// decomposition_performance_map().
public struct DecompositionPerformanceMap: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var mseThreshold: Float = 0
        public var nnAccuracy: Float = 0
        public var nnReductionRatio: Float = 0
        public var classAccuracies: [Float] = []
        public init() {}
    }
    /// dpm_count_thresholds u(8).
    public var countThresholds: Int = 1
    public var entries: [Entry] = []
    public init() {}

    public mutating func visit<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.u("dpm_count_thresholds", 8, &countThresholds)
        let n = Swift.max(0, countThresholds - 1)
        if v.isReading { entries = Array(repeating: Entry(), count: n) }
        guard entries.count == n else { throw v.error(.invalidValue("dpm_count_thresholds − 1 ≠ number of entries"), "dpm_count_thresholds") }
        for i in 0..<n {
            try v.flt("mse_threshold[\(i)]", &entries[i].mseThreshold)
            try v.flt("dpm_nn_accuracy[\(i)]", &entries[i].nnAccuracy)
            try v.flt("nn_reduction_ratio[\(i)]", &entries[i].nnReductionRatio)
            var classes = entries[i].classAccuracies.count
            try v.u("dpm_count_classes[\(i)]", 16, &classes)
            try v.checkCount(classes, "dpm_count_classes", limit: v.limits.maxListEntries, bitsPerEntry: 32)
            if v.isReading { entries[i].classAccuracies = Array(repeating: 0, count: classes) }
            for j in 0..<classes { try v.flt("dpm_nn_class_accuracy[\(i)][\(j)]", &entries[i].classAccuracies[j]) }
        }
    }
}

/// nnr_model_parameter_set_unit_payload(): NNR_MPS (its unit header is empty).
public struct NNRModelParameterSet: Sendable, Equatable {
    /// topology_carriage_flag u(1).
    public var topologyCarriageFlag = true
    /// mps_sparsification_flag u(1).
    public var mpsSparsificationFlag = false
    /// mps_pruning_flag u(1).
    public var mpsPruningFlag = false
    /// mps_unification_flag u(1).
    public var mpsUnificationFlag = false
    /// mps_decomposition_performance_map_flag u(1).
    public var mpsDecompositionPerformanceMapFlag = false
    /// mps_quantization_method_flags u(3): NNR_QSU = 1, NNR_QCB = 2.
    public var mpsQuantizationMethodFlags = 1
    /// mps_topology_indexed_reference_flag u(1).
    public var mpsTopologyIndexedReferenceFlag = false
    /// Profile 1: base_model_id_present_flag u(1).
    public var baseModelIdPresentFlag = false
    /// Profile 1: validation_set_performance_present_flag u(1).
    public var validationSetPerformancePresentFlag = false
    /// Profile 1: metric_type_performance_map_valid_flag u(1).
    public var metricTypePerformanceMapValidFlag = false
    /// Profile 1: mps_parent_signalling_enabled_flag u(1).
    public var mpsParentSignallingEnabledFlag = false
    /// Profile 1 with parent signalling: nnr_pre_flag u(1).
    public var nnrPreFlag = false
    /// nnr_reserved_zero_1bit (profile 1 without parent signalling), nnr_reserved_zero_2bits,
    /// nnr_reserved_zero_7bits (profile 0): kept to re-serialize what was read.
    public var nnrReservedZero1Bit = 0
    public var nnrReservedZero2Bits = 0
    public var nnrReservedZero7Bits = 0
    /// base_model_id st(v).
    public var baseModelId = ""
    /// performance_metric_type st(v).
    public var performanceMetricType = ""
    /// mps_qp_density u(3).
    public var mpsQpDensity = 2
    /// mps_quantization_parameter i(13).
    public var mpsQuantizationParameter = 0
    public var sparsificationMap = SparsificationPerformanceMap()
    public var pruningMap = PruningPerformanceMap()
    public var unificationMap = UnificationPerformanceMap()
    public var decompositionMap = DecompositionPerformanceMap()
    /// validation_set_performance flt(32).
    public var validationSetPerformance: Float = 0

    public init() {}

    public var hasQuantizationParameters: Bool { mpsQuantizationMethodFlags & 3 != 0 }

    public mutating func visit<V: SyntaxVisitor>(_ v: inout V, context: SyntaxContext) throws {
        try v.flag("topology_carriage_flag", &topologyCarriageFlag)
        try v.flag("mps_sparsification_flag", &mpsSparsificationFlag)
        try v.flag("mps_pruning_flag", &mpsPruningFlag)
        try v.flag("mps_unification_flag", &mpsUnificationFlag)
        try v.flag("mps_decomposition_performance_map_flag", &mpsDecompositionPerformanceMapFlag)
        try v.u("mps_quantization_method_flags", 3, &mpsQuantizationMethodFlags)
        try v.flag("mps_topology_indexed_reference_flag", &mpsTopologyIndexedReferenceFlag)
        if context.isProfile1 {
            try v.flag("base_model_id_present_flag", &baseModelIdPresentFlag)
            try v.flag("validation_set_performance_present_flag", &validationSetPerformancePresentFlag)
            try v.flag("metric_type_performance_map_valid_flag", &metricTypePerformanceMapValidFlag)
            try v.flag("mps_parent_signalling_enabled_flag", &mpsParentSignallingEnabledFlag)
            if mpsParentSignallingEnabledFlag {
                try v.flag("nnr_pre_flag", &nnrPreFlag)
            } else {
                try v.reserved("nnr_reserved_zero_1bit", 1, &nnrReservedZero1Bit)
            }
            try v.reserved("nnr_reserved_zero_2bits", 2, &nnrReservedZero2Bits)
            if baseModelIdPresentFlag { try v.st("base_model_id", &baseModelId) }
            if validationSetPerformancePresentFlag || metricTypePerformanceMapValidFlag {
                try v.st("performance_metric_type", &performanceMetricType)
            }
        } else {
            try v.reserved("nnr_reserved_zero_7bits", 7, &nnrReservedZero7Bits)
        }
        if hasQuantizationParameters {
            try v.u("mps_qp_density", 3, &mpsQpDensity)
            try v.i("mps_quantization_parameter", 13, &mpsQuantizationParameter)
        }
        if mpsSparsificationFlag { try sparsificationMap.visit(&v) }
        if mpsPruningFlag { try pruningMap.visit(&v) }
        if mpsUnificationFlag { try unificationMap.visit(&v) }
        if mpsDecompositionPerformanceMapFlag { try decompositionMap.visit(&v) }
        if context.isProfile1 && validationSetPerformancePresentFlag {
            try v.flt("validation_set_performance", &validationSetPerformance)
        }
        try v.byteAlignment()
    }
}

/// nnr_layer_parameter_set_unit_header() and _payload(): NNR_LPS.
/// NNCodec never writes it and crashes reading it; the layout follows its parser (Spec/divergences.md).
public struct NNRLayerParameterSet: Sendable, Equatable {
    /// lps_self_contained_flag u(1) (unit header).
    public var lpsSelfContainedFlag = true
    /// nnr_reserved_zero_7bits u(7) (unit header).
    public var headerReservedZero7Bits = 0
    /// nnr_reserved_zero_1_bits u(1) (first payload bit).
    public var nnrReservedZero1Bits = 0
    /// lps_sparsification_flag u(1).
    public var lpsSparsificationFlag = false
    /// lps_pruning_flag u(1).
    public var lpsPruningFlag = false
    /// lps_unification_flag u(1).
    public var lpsUnificationFlag = false
    /// lps_quantization_method_flags u(3).
    public var lpsQuantizationMethodFlags = 1
    /// nnr_reserved_zero_1bit u(1).
    public var nnrReservedZero1Bit = 0
    /// lps_qp_density u(3).
    public var lpsQpDensity = 2
    /// lps_quantization_parameter i(13).
    public var lpsQuantizationParameter = 0
    public var sparsificationMap = SparsificationPerformanceMap()
    public var pruningMap = PruningPerformanceMap()
    public var unificationMap = UnificationPerformanceMap()

    public init() {}
    public var hasQuantizationParameters: Bool { lpsQuantizationMethodFlags & 3 != 0 }

    public mutating func visitHeader<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.flag("lps_self_contained_flag", &lpsSelfContainedFlag)
        try v.reserved("nnr_reserved_zero_7bits", 7, &headerReservedZero7Bits)
    }

    public mutating func visitPayload<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.reserved("nnr_reserved_zero_1_bits", 1, &nnrReservedZero1Bits)
        try v.flag("lps_sparsification_flag", &lpsSparsificationFlag)
        try v.flag("lps_pruning_flag", &lpsPruningFlag)
        try v.flag("lps_unification_flag", &lpsUnificationFlag)
        try v.u("lps_quantization_method_flags", 3, &lpsQuantizationMethodFlags)
        try v.reserved("nnr_reserved_zero_1bit", 1, &nnrReservedZero1Bit)
        if hasQuantizationParameters {
            try v.u("lps_qp_density", 3, &lpsQpDensity)
            try v.i("lps_quantization_parameter", 13, &lpsQuantizationParameter)
        }
        if lpsSparsificationFlag { try sparsificationMap.visit(&v) }
        if lpsPruningFlag { try pruningMap.visit(&v) }
        if lpsUnificationFlag { try unificationMap.visit(&v) }
        try v.byteAlignment()
    }
}

/// Data carried as st(v) when it is one NUL-terminated string ending the unit (what NNCodec
/// writes), else as bs(v) raw bytes.
public enum NNRUnitData: Sendable, Equatable {
    case string(String)
    case bytes([UInt8])

    mutating func visit<V: SyntaxVisitor>(_ v: inout V, name: String) throws {
        if v.isReading {
            var probe = v
            var s = ""
            if let _ = try? probe.st(name, &s), probe.remainingBits == 0 {
                try v.st(name, &s)
                self = .string(s)
            } else {
                var b: [UInt8] = []
                try v.remainingBytes(name, &b)
                self = .bytes(b)
            }
        } else {
            switch self {
            case var .string(s): try v.st(name, &s)
            case var .bytes(b): try v.remainingBytes(name, &b)
            }
        }
    }
}

/// nnr_topology_unit_header() and payload: NNR_TPL.
public struct NNRTopologyUnit: Sendable, Equatable {
    /// topology_storage_format u(8).
    public var topologyStorageFormat = 0
    /// topology_compression_format u(8): 0 NNR_PT_RAW, 1 NNR_DFL.
    public var topologyCompressionFormat = 0
    /// topology_data (st(v) or bs(v)), for formats other than PRUN and REFLIST.
    public var topologyData: NNRUnitData = .string("")
    /// REFLIST: topology_elements_ids_list(0).
    public var referenceList: [String] = []

    public init() {}

    public mutating func visitHeader<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.u("topology_storage_format", 8, &topologyStorageFormat)
        try v.u("topology_compression_format", 8, &topologyCompressionFormat)
    }

    public mutating func visitPayload<V: SyntaxVisitor>(_ v: inout V) throws {
        if topologyStorageFormat == NNRTopologyStorageFormat.reflist {
            var countMinus2 = Swift.max(0, referenceList.count - 2)
            try v.ue("count_topology_elements_minus2", 7, &countMinus2)
            let n = countMinus2 + 2
            try v.checkCount(n, "count_topology_elements_minus2", limit: v.limits.maxListEntries, bitsPerEntry: 8, freeEntries: 2)
            try v.byteAlignment()
            if v.isReading { referenceList = Array(repeating: "", count: n) }
            for j in 0..<n { try v.st("topology_elem_id_list[\(j)]", &referenceList[j]) }
        } else {
            // PRUN (nnr_pruning_topology_container) is carried as raw bytes.
            try topologyData.visit(&v, name: topologyStorageFormat == NNRTopologyStorageFormat.prun ? "nnr_pruning_topology_container" : "topology_data")
        }
    }
}

/// nnr_quantization_unit_header() and payload: NNR_QNT.
public struct NNRQuantizationUnit: Sendable, Equatable {
    /// quantization_storage_format u(8).
    public var quantizationStorageFormat = 0
    /// quantization_compression_format u(8).
    public var quantizationCompressionFormat = 0
    /// quantization_data.
    public var quantizationData: NNRUnitData = .bytes([])

    public init() {}

    public mutating func visitHeader<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.u("quantization_storage_format", 8, &quantizationStorageFormat)
        try v.u("quantization_compression_format", 8, &quantizationCompressionFormat)
    }

    public mutating func visitPayload<V: SyntaxVisitor>(_ v: inout V) throws {
        try quantizationData.visit(&v, name: "quantization_data")
    }
}

/// nnr_aggregate_unit_header(): NNR_AGG. NNCodec implements neither direction; this is our
/// reading of the standard (Spec/divergences.md). The payload is a sequence of complete NNR units.
public struct NNRAggregateUnitHeader: Sendable, Equatable {
    /// nnr_aggregate_unit_type u(8).
    public var nnrAggregateUnitType = 0
    /// entry_points_present_flag u(1).
    public var entryPointsPresentFlag = false
    /// num_of_nnr_units_minus2 u(16).
    public var numOfNNRUnitsMinus2 = 0
    /// nnr_reserved_zero_7bits u(7).
    public var nnrReservedZero7Bits = 0
    /// nnr_unit_type[i] u(6) and nnr_unit_entry_point[i] u(32) (byte offset inside the payload).
    public var unitTypes: [Int] = []
    public var unitEntryPoints: [Int] = []

    public init() {}

    public var unitCount: Int { numOfNNRUnitsMinus2 + 2 }

    public mutating func visit<V: SyntaxVisitor>(_ v: inout V) throws {
        try v.u("nnr_aggregate_unit_type", 8, &nnrAggregateUnitType)
        try v.flag("entry_points_present_flag", &entryPointsPresentFlag)
        try v.u("num_of_nnr_units_minus2", 16, &numOfNNRUnitsMinus2)
        try v.reserved("nnr_reserved_zero_7bits", 7, &nnrReservedZero7Bits)
        if entryPointsPresentFlag {
            let n = unitCount
            try v.checkCount(n, "num_of_nnr_units_minus2", limit: v.limits.maxUnits, bitsPerEntry: 38)
            if v.isReading {
                unitTypes = Array(repeating: 0, count: n)
                unitEntryPoints = Array(repeating: 0, count: n)
            }
            guard unitTypes.count == n, unitEntryPoints.count == n else {
                throw v.error(.invalidValue("entry point list length ≠ num_of_nnr_units_minus2 + 2"), "nnr_unit_entry_point")
            }
            for j in 0..<n {
                try v.u("nnr_unit_type[\(j)]", 6, &unitTypes[j])
                try v.u("nnr_unit_entry_point[\(j)]", 32, &unitEntryPoints[j])
            }
            try v.byteAlignment()
        }
    }
}
