import Foundation

/// Byte counts as people write them: 1500000, 1.5MB (10^6), 10MiB (2^20), 500kB, 2GiB.
public enum ByteSize {
    public static func parse(_ text: String) -> Int? {
        let s = text.trimmingCharacters(in: .whitespaces)
        let units: [(String, Double)] = [("KiB", 1024), ("MiB", 1_048_576), ("GiB", 1_073_741_824), ("kB", 1e3), ("KB", 1e3),
                                         ("MB", 1e6), ("GB", 1e9), ("k", 1e3), ("K", 1e3), ("M", 1e6), ("G", 1e9), ("B", 1)]
        var number = Substring(s), scale = 1.0
        for (u, f) in units where s.hasSuffix(u) {
            number = s.dropLast(u.count)
            scale = f
            break
        }
        guard let v = Double(number.trimmingCharacters(in: .whitespaces)), v.isFinite, v > 0 else { return nil }
        let bytes = (v * scale).rounded(.down)
        guard bytes >= 1, bytes < 9e18 else { return nil }
        return Int(bytes)
    }
}
