import Foundation

/// JUnit XML for CI systems: one `testsuite` per checked file, one `testcase` per rule (and per
/// tensor compared with a reference). Error violations (and warnings under `strict`) are
/// `failure` elements; other warnings go to the test case's `system-out`.
public enum JUnitReport {
    public static func xml(_ reports: [FileCheckReport], rules: [CheckRule] = CheckRules.all, strict: Bool = false,
                           timestamp: Date? = nil) -> String {
        var suites: [String] = []
        var totalTests = 0, totalFailures = 0
        for (n, r) in reports.enumerated() {
            var cases: [String] = []
            var failures = 0
            let byRule = Dictionary(grouping: r.violations, by: \.ruleID)
            let checked = Set(r.rulesChecked)
            var listed = rules.filter { checked.contains($0.id) }
            // Violations of rules outside the catalogue still get a test case.
            for id in byRule.keys.sorted() where !listed.contains(where: { $0.id == id }) {
                listed.append(CheckRule(id, .container, CheckRules.severity(id), id, source: ""))
            }
            for rule in listed {
                let found = byRule[rule.id] ?? []
                let failing = found.filter { $0.severity == .error || strict }
                var body = ""
                if !failing.isEmpty {
                    failures += 1
                    let first = failing[0]
                    let message = "\(failing.count) violation\(failing.count == 1 ? "" : "s"); first: \(CheckRendering.violationLine(first))"
                    body += "<failure type=\"\(escape(rule.severity.rawValue))\" message=\"\(escape(message))\">"
                    body += escape(failing.map(CheckRendering.violationLine).joined(separator: "\n"))
                    body += "</failure>"
                } else if !found.isEmpty {
                    body += "<system-out>" + escape(found.map(CheckRendering.violationLine).joined(separator: "\n")) + "</system-out>"
                }
                let name = "\(rule.id) \(rule.statement)"
                let cls = "nnr.check.\(rule.group.rawValue)"
                cases.append(testcase(name: name, classname: cls, body: body))
            }
            if r.referencePath != nil {
                for t in r.tensors {
                    let c = t.comparison ?? .notInReference
                    var body = "<system-out>" + escape("sha256 \(t.sha256)") + "</system-out>"
                    if !c.passed {
                        failures += 1
                        body = "<failure type=\"reference\" message=\"\(escape("\(t.name): \(c.text)"))\">"
                            + escape("\(t.name) \(t.dtype) \(t.shape): \(c.text)") + "</failure>" + body
                    }
                    cases.append(testcase(name: "tensor \(t.name) equals the reference", classname: "nnr.check.reference", body: body))
                }
                for m in r.missingTensors {
                    failures += 1
                    let body = "<failure type=\"reference\" message=\"\(escape("\(m.name): \(TensorComparisonResult.notDecoded.text)"))\"/>"
                    cases.append(testcase(name: "tensor \(m.name) equals the reference", classname: "nnr.check.reference", body: body))
                }
            }
            totalTests += cases.count
            totalFailures += failures
            var attrs = "name=\"\(escape(r.path))\" id=\"\(n)\" tests=\"\(cases.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"0\""
            if let ts = timestamp { attrs += " timestamp=\"\(iso8601(ts))\"" }
            var suite = "  <testsuite \(attrs)>\n"
            suite += "    <properties>\n"
            suite += "      <property name=\"file_size\" value=\"\(r.fileSize)\"/>\n"
            suite += "      <property name=\"units\" value=\"\(r.unitCount)\"/>\n"
            suite += "      <property name=\"verdict\" value=\"\(escape(CheckRendering.verdict(r, strict: strict)))\"/>\n"
            if let ref = r.referencePath { suite += "      <property name=\"reference\" value=\"\(escape(ref))\"/>\n" }
            suite += "    </properties>\n"
            for c in cases { suite += "    " + c + "\n" }
            suite += "  </testsuite>\n"
            suites.append(suite)
        }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"nnr check\" tests=\"\(totalTests)\" failures=\"\(totalFailures)\" errors=\"0\">\n"
        out += suites.joined()
        out += "</testsuites>\n"
        return out
    }

    static func testcase(name: String, classname: String, body: String) -> String {
        let open = "<testcase name=\"\(escape(name))\" classname=\"\(escape(classname))\""
        return body.isEmpty ? open + "/>" : open + ">" + body + "</testcase>"
    }

    /// Escapes text for XML attribute values and character data; characters XML 1.0 cannot hold
    /// (most C0 controls, unpaired surrogates are impossible in Swift strings) become U+FFFD.
    public static func escape(_ s: String) -> String {
        XMLText.escape(s, unrepresentable: .replacementCharacter)
    }

    static func iso8601(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }
}
