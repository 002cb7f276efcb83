import CSHA256

/// SHA-256 (FIPS 180-4), for the per-tensor digests of decoded tensors (the NNR analogue of the
/// MD5 of decoded pictures in video conformance). Blocks are compressed with the processor's SHA
/// extensions when it has them (CSHA256; about 0.5 GB/s → 2 GB/s), otherwise by the rounds below.
public struct SHA256 {
    private var h0: UInt32 = 0x6a09e667, h1: UInt32 = 0xbb67ae85, h2: UInt32 = 0x3c6ef372, h3: UInt32 = 0xa54ff53a
    private var h4: UInt32 = 0x510e527f, h5: UInt32 = 0x9b05688c, h6: UInt32 = 0x1f83d9ab, h7: UInt32 = 0x5be0cd19
    private var buffer: [UInt8] = []
    private var length: UInt64 = 0

    /// The round constants (one table, in CSHA256).
    static let k = nnr_sha256_round_constants()

    public init() {}

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Adds bytes read in place.
    public mutating func update(_ raw: UnsafeRawBufferPointer) {
        let n = raw.count
        guard n > 0, let base = raw.baseAddress else { return }
        length &+= UInt64(n)
        var i = 0
        if !buffer.isEmpty {
            let take = Swift.min(64 - buffer.count, n)
            buffer += UnsafeRawBufferPointer(start: base, count: take)
            i = take
            if buffer.count == 64 {
                buffer.withUnsafeBytes { b in if let p = b.baseAddress { compressBlocks(p, count: 1) } }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        let blocks = (n - i) / 64
        if blocks > 0 {
            compressBlocks(base + i, count: blocks)
            i += blocks * 64
        }
        if i < n { buffer += UnsafeRawBufferPointer(start: base + i, count: n - i) }
    }

    /// Adds `count` zero bytes without a buffer of them (with the SHA extensions, from one 64 KiB
    /// block of zeros; otherwise by rounds without a message schedule, which is all zeros).
    public mutating func updateZeros(count: Int) {
        var left = count
        if !buffer.isEmpty {
            let take = Swift.min(64 - buffer.count, left)
            update([UInt8](repeating: 0, count: take))
            left -= take
        }
        let blocks = left / 64
        if blocks > 0 {
            length &+= UInt64(blocks * 64)
            if SHA256.hardware {
                // the SHA extensions are faster on zero bytes than the rounds without a schedule
                SHA256.zeroBytes.withUnsafeBytes { z in
                    guard let p = z.baseAddress else { return }
                    var b = blocks
                    while b > 0 {
                        let k = Swift.min(b, SHA256.zeroBytes.count / 64)
                        compressBlocks(p, count: k)
                        b -= k
                    }
                }
            } else {
                compressZeroBlocks(blocks)
            }
            left -= blocks * 64
        }
        if left > 0 { update([UInt8](repeating: 0, count: left)) }
    }

    public mutating func finalize() -> [UInt8] {
        let bitLength = length &* 8
        var tail = buffer + [0x80]
        while tail.count % 64 != 56 { tail.append(0) }
        for s in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(s))) }
        tail.withUnsafeBytes { b in if let p = b.baseAddress { compressBlocks(p, count: tail.count / 64) } }
        var out: [UInt8] = []
        for v in [h0, h1, h2, h3, h4, h5, h6, h7] { out += [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
        return out
    }

    @inline(__always)
    private static func rounds(_ st: inout (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32),
                               _ k: UnsafePointer<UInt32>, _ w: UnsafePointer<UInt32>?) {
        var (a, b, c, d, e, f, g, hh) = st
        for t in 0..<64 {
            let s1 = e.rotr(6) ^ e.rotr(11) ^ e.rotr(25)
            let ch = (e & f) ^ (~e & g)
            var t1 = hh &+ s1 &+ ch &+ k[t]
            if let w { t1 &+= w[t] }
            let s0 = a.rotr(2) ^ a.rotr(13) ^ a.rotr(22)
            let maj = (a & b) ^ (a & c) ^ (b & c)
            hh = g; g = f; f = e; e = d &+ t1; d = c; c = b; b = a; a = t1 &+ s0 &+ maj
        }
        st = (a, b, c, d, e, f, g, hh)
    }

    static let zeroBytes = [UInt8](repeating: 0, count: 1 << 16)

    /// The processor has the SHA extensions.
    public static let hardware = nnr_sha256_hardware_available() == 1

    private mutating func compressBlocks(_ p: UnsafeRawPointer, count: Int) {
        var st = (h0, h1, h2, h3, h4, h5, h6, h7)
        if SHA256.hardware {
            withUnsafeMutableBytes(of: &st) { s in
                guard let sp = s.baseAddress else { return }
                nnr_sha256_hardware_blocks(sp.assumingMemoryBound(to: UInt32.self), p.assumingMemoryBound(to: UInt8.self), count)
            }
            (h0, h1, h2, h3, h4, h5, h6, h7) = st
            return
        }
        do {
            let k = SHA256.k
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { wb in
                guard let w = wb.baseAddress else { return }
                for blk in 0..<count {
                    let off = blk &* 64
                    for t in 0..<16 {
                        w[t] = UInt32(bigEndian: p.loadUnaligned(fromByteOffset: off &+ 4 &* t, as: UInt32.self))
                    }
                    for t in 16..<64 {
                        let x = w[t &- 15], y = w[t &- 2]
                        let s0 = x.rotr(7) ^ x.rotr(18) ^ (x >> 3)
                        let s1 = y.rotr(17) ^ y.rotr(19) ^ (y >> 10)
                        w[t] = w[t &- 16] &+ s0 &+ w[t &- 7] &+ s1
                    }
                    var s = st
                    SHA256.rounds(&s, k, UnsafePointer(w))
                    st = (st.0 &+ s.0, st.1 &+ s.1, st.2 &+ s.2, st.3 &+ s.3, st.4 &+ s.4, st.5 &+ s.5, st.6 &+ s.6, st.7 &+ s.7)
                }
            }
        }
        (h0, h1, h2, h3, h4, h5, h6, h7) = st
    }

    private mutating func compressZeroBlocks(_ count: Int) {
        var st = (h0, h1, h2, h3, h4, h5, h6, h7)
        do {
            let k = SHA256.k
            for _ in 0..<count {
                var s = st
                SHA256.rounds(&s, k, nil)
                st = (st.0 &+ s.0, st.1 &+ s.1, st.2 &+ s.2, st.3 &+ s.3, st.4 &+ s.4, st.5 &+ s.5, st.6 &+ s.6, st.7 &+ s.7)
            }
        }
        (h0, h1, h2, h3, h4, h5, h6, h7) = st
    }

    /// Hex digest of `bytes`.
    public static func hex(_ bytes: [UInt8]) -> String {
        var s = SHA256()
        s.update(bytes)
        let digits = Array("0123456789abcdef")
        return String(s.finalize().flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}

private extension UInt32 {
    @inline(__always) func rotr(_ n: UInt32) -> UInt32 { (self >> n) | (self << (32 - n)) }
}
