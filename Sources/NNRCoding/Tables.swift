// Constant tables of the DeepCABAC probability estimator (ISO/IEC 15938-17 payload coding).
// Values as used by NNCodec 2.1.3 (see Spec/payload-coding.md).

/// Range of the LPS (`rLPS`) by range class (range >> 5) & 7 (rows of 32) and state magnitude |S01 >> 7|.
public let nnrRangeLPSTable: [UInt16] = [
    128, 112, 97, 84, 74, 65, 57, 50, 45, 39, 34, 30, 27, 23, 20, 18, 15, 14, 12, 11, 10, 9, 7, 7, 5, 5, 4, 4, 3, 3, 2, 2,
    142, 125, 108, 93, 82, 72, 63, 56, 50, 43, 38, 33, 30, 26, 22, 20, 17, 16, 13, 12, 11, 10, 8, 8, 6, 6, 5, 5, 3, 3, 2, 2,
    156, 137, 119, 103, 90, 79, 70, 61, 55, 48, 42, 37, 33, 28, 24, 22, 19, 17, 15, 13, 12, 11, 9, 9, 6, 6, 5, 5, 4, 4, 2, 2,
    171, 150, 130, 112, 99, 87, 76, 67, 60, 52, 46, 40, 36, 31, 27, 24, 21, 19, 16, 15, 13, 12, 10, 10, 7, 7, 6, 6, 4, 4, 3, 3,
    185, 162, 141, 121, 107, 94, 82, 73, 65, 56, 50, 43, 39, 34, 29, 26, 22, 21, 17, 16, 14, 13, 11, 11, 8, 8, 6, 6, 4, 4, 3, 3,
    199, 175, 152, 131, 115, 101, 89, 78, 70, 61, 54, 47, 42, 36, 31, 28, 24, 22, 19, 17, 15, 14, 12, 12, 8, 8, 7, 7, 5, 5, 3, 3,
    213, 187, 163, 140, 123, 108, 95, 84, 75, 65, 58, 50, 45, 39, 33, 30, 26, 24, 20, 18, 16, 15, 13, 13, 9, 9, 7, 7, 5, 5, 3, 3,
    228, 200, 174, 150, 132, 116, 102, 90, 80, 70, 62, 54, 48, 42, 36, 32, 28, 26, 22, 20, 18, 16, 14, 14, 10, 10, 8, 8, 6, 6, 4, 4,
]

/// Adaptation curve: step of a state update, indexed by 16 + (signed state >> shift).
public let nnrCurveTable: [Int32] = [
    2512, 2288, 2064, 1840, 1616, 1392, 1168, 944, 720, 560, 464, 368, 272, 208, 144, 80,
    64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 64, 0,
]

/// One of the nine estimator parameter sets a context can be initialised with.
public struct EstimatorParameterSet: Sendable, Equatable {
    /// Shift of the fast half (SH0 + 4 as used in the update).
    public let shift0: Int32
    /// Shift of the slow half.
    public let shift1: Int32
    /// Initial packed state S01 = S1 + 16·S0.
    public let initialS01: Int32
    /// Initial fast state S0.
    public let initialS0: Int32
}

/// The nine parameter sets, by index e = 0…8 (`sel_idx_minus1` + 1 selects 1…8).
public let nnrEstimatorParameterSets: [EstimatorParameterSet] = [
    EstimatorParameterSet(shift0: 5, shift1: 4, initialS01: 0, initialS0: 0),
    EstimatorParameterSet(shift0: 5, shift1: 4, initialS01: -1310, initialS0: -41),
    EstimatorParameterSet(shift0: 5, shift1: 4, initialS01: 3039, initialS0: 95),
    EstimatorParameterSet(shift0: 4, shift1: 5, initialS01: 0, initialS0: 0),
    EstimatorParameterSet(shift0: 6, shift1: 6, initialS01: 962, initialS0: 30),
    EstimatorParameterSet(shift0: 6, shift1: 6, initialS01: 3039, initialS0: 95),
    EstimatorParameterSet(shift0: 6, shift1: 6, initialS01: -673, initialS0: -21),
    EstimatorParameterSet(shift0: 7, shift1: 5, initialS01: 0, initialS0: 0),
    EstimatorParameterSet(shift0: 7, shift1: 5, initialS01: 962, initialS0: 30),
]
