import Foundation

/// Text and JSON forms of check reports and of the rule list.
public enum CheckRendering {
    // MARK: Rules

    /// `nnr check --list-rules` as text: one rule per line.
    public static func rulesText(_ rules: [CheckRule] = CheckRules.all) -> String {
        var out = ""
        var group: CheckRuleGroup?
        for r in rules {
            if r.group != group {
                if group != nil { out += "\n" }
                out += "\(r.group.rawValue) rules:\n"
                group = r.group
            }
            out += "  \(r.id)  \(r.severity.rawValue.padding(toLength: 7, withPad: " ", startingAt: 0)) \(r.statement)\n"
        }
        return out
    }

    public static func rulesJSON(_ rules: [CheckRule] = CheckRules.all) -> JSONValue {
        .object([("rules", .array(rules.map { r in
            .object([("id", .string(r.id)), ("group", .string(r.group.rawValue)), ("severity", .string(r.severity.rawValue)),
                     ("statement", .string(r.statement)), ("source", .string(r.source))])
        }))])
    }

    // MARK: Reports

    /// One line per violation: `RULE severity unit N @ byte B bit b: element: message`.
    public static func violationLine(_ v: CheckViolation) -> String {
        let unit = v.unitIndex.map { "unit \($0)" } ?? "file"
        return "\(v.ruleID) \(v.severity.rawValue) \(unit) @ byte \(v.byteOffset) bit \(v.bitOffset): \(v.element): \(v.message)"
    }

    /// Human-readable report of several files.
    public static func text(_ reports: [FileCheckReport], strict: Bool = false) -> String {
        var out = ""
        for r in reports {
            out += "\(r.path): \(r.fileSize) bytes, \(r.unitCount) units, \(r.tensors.count) tensors decoded\n"
            for v in r.violations { out += "  " + violationLine(v) + "\n" }
            for t in r.tensors {
                var line = "  tensor \(t.name) \(t.dtype) \(t.shape) sha256 \(t.sha256)"
                if let c = t.comparison { line += " reference: \(c.text)" }
                out += line + "\n"
            }
            for m in r.missingTensors {
                out += "  tensor \(m.name) \(m.dtype) \(m.shape) reference: \(TensorComparisonResult.notDecoded.text)\n"
            }
            out += "  verdict: \(verdict(r, strict: strict))\n"
        }
        if reports.count > 1 {
            let failed = reports.filter { !$0.passed(strict: strict) }.count
            out += failed == 0 ? "all \(reports.count) files pass\n" : "\(failed) of \(reports.count) files fail\n"
        }
        return out
    }

    /// "conforming", "conforming, matches reference", "NON-CONFORMING (2 errors, 1 warning)", …
    public static func verdict(_ r: FileCheckReport, strict: Bool = false) -> String {
        let e = r.errors.count, w = r.warnings.count
        var s: String
        if r.conforming && (!strict || w == 0) {
            s = "conforming"
            if w > 0 { s += " (\(w) warning\(w == 1 ? "" : "s"))" }
        } else {
            s = "NON-CONFORMING (\(e) error\(e == 1 ? "" : "s"), \(w) warning\(w == 1 ? "" : "s")\(strict && e == 0 ? ", strict" : ""))"
        }
        if let m = r.matchesReference {
            if m {
                s += ", matches the reference"
            } else {
                let bad = r.tensors.filter { !($0.comparison?.passed ?? false) }.count + r.missingTensors.count
                s += ", DIFFERS FROM THE REFERENCE (\(bad) tensor\(bad == 1 ? "" : "s"))"
            }
        }
        return s
    }

    public static func json(_ v: CheckViolation) -> JSONValue {
        .object([("rule", .string(v.ruleID)), ("severity", .string(v.severity.rawValue)),
                 ("unit", v.unitIndex.map { .int($0) } ?? .null), ("byte_offset", .int(v.byteOffset)), ("bit_offset", .int(v.bitOffset)),
                 ("element", .string(v.element)), ("message", .string(v.message))])
    }

    public static func json(_ r: FileCheckReport, strict: Bool = false) -> JSONValue {
        var fields: [(String, JSONValue)] = [
            ("file", .string(r.path)),
            ("size", .int(r.fileSize)),
            ("units", .int(r.unitCount)),
            ("conforming", .bool(r.conforming)),
            ("passed", .bool(r.passed(strict: strict))),
            ("errors", .int(r.errors.count)),
            ("warnings", .int(r.warnings.count)),
            ("violated_rules", .array(r.violatedRuleIDs.map { .string($0) })),
            ("violations", .array(r.violations.map { json($0) })),
            ("tensors", .array(r.tensors.map { t in
                var f: [(String, JSONValue)] = [("name", .string(t.name)), ("dtype", .string(t.dtype)),
                                                ("shape", .array(t.shape.map { .int($0) })), ("sha256", .string(t.sha256)),
                                                ("unit", .int(t.unitIndex))]
                if let c = t.comparison {
                    f.append(("reference", .string(c.code)))
                    if case let .mismatch(s) = c { f.append(("difference", .string(s))) }
                }
                return .object(f)
            })),
        ]
        if let ref = r.referencePath {
            fields.append(("reference", .object([
                ("file", .string(ref)),
                ("matches", .bool(r.matchesReference ?? false)),
                ("missing", .array(r.missingTensors.map { m in
                    .object([("name", .string(m.name)), ("dtype", .string(m.dtype)), ("shape", .array(m.shape.map { .int($0) }))])
                })),
            ])))
        }
        return .object(fields)
    }

    /// The JSON document of `nnr check --format json`.
    public static func json(_ reports: [FileCheckReport], strict: Bool = false) -> JSONValue {
        .object([
            ("tool", .string("nnr check")),
            ("strict", .bool(strict)),
            ("passed", .bool(reports.allSatisfy { $0.passed(strict: strict) })),
            ("files", .array(reports.map { json($0, strict: strict) })),
        ])
    }
}
