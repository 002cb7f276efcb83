import Foundation

/// JUnit XML for CI systems: one `testsuite` per checked file, one `testcase` per rule (and per
/// tensor compared with a reference). Error violations (and warnings under `strict`) are
/// `failure` elements; other warnings go to the test case's `system-out`.
public enum JUnitReport {
    public static func xml(_ reports: [FileCheckReport], rules: [CheckRule] = CheckRules.all, strict: Bool = false,
                           timestamp: Date? = nil) -> String {
        // Test cases are built first: the suite's attributes count them.
        struct Case {
            var name: String
            var classname: String
            /// (element, attributes, text) in order.
            var body: [(StaticString, [(StaticString, String)], String)] = []
        }
        var suites: [(attributes: [(StaticString, String)], properties: [(String, String)], cases: [Case])] = []
        var totalTests = 0, totalFailures = 0
        for (n, r) in reports.enumerated() {
            var cases: [Case] = []
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
                var c = Case(name: "\(rule.id) \(rule.statement)", classname: "nnr.check.\(rule.group.rawValue)")
                if !failing.isEmpty {
                    failures += 1
                    let first = failing[0]
                    let message = "\(failing.count) violation\(failing.count == 1 ? "" : "s"); first: \(CheckRendering.violationLine(first))"
                    c.body.append(("failure", [("type", rule.severity.rawValue), ("message", message)],
                                   failing.map(CheckRendering.violationLine).joined(separator: "\n")))
                } else if !found.isEmpty {
                    c.body.append(("system-out", [], found.map(CheckRendering.violationLine).joined(separator: "\n")))
                }
                cases.append(c)
            }
            if r.referencePath != nil {
                for t in r.tensors {
                    let result = t.comparison ?? .notInReference
                    var c = Case(name: "tensor \(t.name) equals the reference", classname: "nnr.check.reference")
                    if !result.passed {
                        failures += 1
                        c.body.append(("failure", [("type", "reference"), ("message", "\(t.name): \(result.text)")],
                                       "\(t.name) \(t.dtype) \(t.shape): \(result.text)"))
                    }
                    c.body.append(("system-out", [], "sha256 \(t.sha256)"))
                    cases.append(c)
                }
                for m in r.missingTensors {
                    failures += 1
                    var c = Case(name: "tensor \(m.name) equals the reference", classname: "nnr.check.reference")
                    c.body.append(("failure", [("type", "reference"), ("message", "\(m.name): \(TensorComparisonResult.notDecoded.text)")], ""))
                    cases.append(c)
                }
            }
            totalTests += cases.count
            totalFailures += failures
            var attributes: [(StaticString, String)] = [("name", r.path), ("id", String(n)), ("tests", String(cases.count)),
                                                  ("failures", String(failures)), ("errors", "0"), ("skipped", "0")]
            if let ts = timestamp { attributes.append(("timestamp", iso8601(ts))) }
            var properties: [(String, String)] = [("file_size", String(r.fileSize)), ("units", String(r.unitCount)),
                                                  ("verdict", CheckRendering.verdict(r, strict: strict))]
            if let ref = r.referencePath { properties.append(("reference", ref)) }
            suites.append((attributes, properties, cases))
        }
        let w = XMLStreamWriter(unrepresentable: .replacementCharacter)
        w.startDocument()
        w.begin("testsuites")
        w.attribute("name", "nnr check")
        w.attribute("tests", totalTests)
        w.attribute("failures", totalFailures)
        w.attribute("errors", 0)
        w.openEnd()
        for s in suites {
            w.begin("testsuite")
            for (k, v) in s.attributes { w.attribute(k, v) }
            w.openEnd()
            w.begin("properties")
            w.openEnd()
            for (k, v) in s.properties {
                w.begin("property")
                w.attribute("name", k)
                w.attribute("value", v)
                w.emptyEnd()
            }
            w.close()
            for c in s.cases {
                // one line: <testcase …><failure …>…</failure><system-out>…</system-out></testcase>
                w.begin("testcase")
                w.attribute("name", c.name)
                w.attribute("classname", c.classname)
                for (element, attributes, text) in c.body {
                    w.start(element)
                    for (k, v) in attributes { w.attribute(k, v) }
                    w.text(text)
                    w.end()
                }
                w.emptyEnd()
            }
            w.close()
        }
        w.close()
        w.endDocument()
        return w.take()
    }

    static func iso8601(_ d: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        return f.string(from: d)
    }
}
