// MemberName: whether a tensor name can safely become a file or archive member name.
//
// Tensor names come from untrusted input (an NNR bitstream's topology, a model file). A `.npz`
// member named "../../x.npy" or "/etc/x.npy" escapes the folder of whoever extracts the archive
// ("zip-slip"); a NUL cuts the name short in C APIs. The npz writer refuses such names; `nnr
// decode` refuses them for every output format, or renames them with --sanitize-names.

public enum MemberName {
    /// Why `name` is unsafe as a file or archive member name, or nil if it is safe: empty,
    /// containing NUL, absolute (leading `/` or `\`, or a drive letter such as `C:`), or with a
    /// `..` component (components split at `/` and at `\`).
    public static func problem(_ name: String) -> String? {
        if name.isEmpty { return "it is empty" }
        if name.utf8.contains(0) { return "it contains a NUL character" }
        if let first = name.utf8.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "\\") {
            return "it is an absolute path (starts with '\(Character(Unicode.Scalar(first)))')"
        }
        let u = Array(name.utf8.prefix(2))
        if u.count == 2, u[1] == UInt8(ascii: ":"), (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(u[0] & 0xDF) {
            return "it starts with a drive letter ('\(name.prefix(2))')"
        }
        for component in components(name) {
            if component == ".." { return "it has a '..' component" }
        }
        return nil
    }

    /// `name` with its unsafe parts replaced: NUL becomes `_`, leading separators and a drive
    /// letter's colon becomes `_`, `..` components become `__`, an empty name `_`.
    /// The result has no ``problem(_:)``.
    public static func sanitized(_ name: String) -> String {
        var scalars = String.UnicodeScalarView()
        for s in name.unicodeScalars { scalars.append(s == "\0" ? "_" : s) }
        var text = String(scalars)
        while let f = text.first, f == "/" || f == "\\" { text.removeFirst() }
        let u = Array(text.utf8.prefix(2))
        if u.count == 2, u[1] == UInt8(ascii: ":"), (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(u[0] & 0xDF) {
            text = String(text.prefix(1)) + "_" + String(text.dropFirst(2))
        }
        var out = ""
        var component = ""
        func flush() {
            out += component == ".." ? "__" : component
            component = ""
        }
        for c in text {
            if c == "/" || c == "\\" {
                flush()
                out.append(c)
            } else {
                component.append(c)
            }
        }
        flush()
        return out.isEmpty ? "_" : out
    }

    /// `name` for a message: control characters escaped, at most 200 characters, in quotes.
    public static func quoted(_ name: String) -> String {
        var out = "'"
        for (i, s) in name.unicodeScalars.enumerated() {
            if i == 200 { out += "…"; break }
            if s.value < 0x20 || s.value == 0x7F {
                out += "\\u{" + String(s.value, radix: 16) + "}"
            } else {
                out.unicodeScalars.append(s)
            }
        }
        return out + "'"
    }

    private static func components(_ name: String) -> [Substring] {
        name.split(omittingEmptySubsequences: false) { $0 == "/" || $0 == "\\" }
    }
}
