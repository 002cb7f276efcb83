import Foundation
import XCTest
import NNRBitIO
import NNRContainer
import NNRTools
import NNRTestSupport

/// The streamed dump (`DumpStreamer`, what `nnr dump` runs) writes exactly what rendering the
/// whole report writes, and handles files of many units and long header lists.
final class DumpStreamTests: XCTestCase {
    static func streamed(_ inputs: [(path: String, source: NNRByteSource)], _ options: DumpOptions, _ format: DumpStreamFormat) -> String {
        var out = ""
        var s = DumpStreamer(options: options, format: format, write: { out += $0 })
        s.run(inputs)
        return out
    }

    static func rendered(_ inputs: [(path: String, source: NNRByteSource)], _ options: DumpOptions, _ format: DumpStreamFormat) -> String {
        let report = NNRDump.dump(inputs, options: options)
        switch format {
        case .text: return DumpTextRenderer.render(report)
        case .json: return DumpJSONRenderer.render(report).serialized(indent: 1) + "\n"
        case .xml: return DumpXMLRenderer.render(report)
        }
    }

    /// Every bundled vector (valid, negative, syntax), headers only in every format and with
    /// --stats in JSON and XML (the text format shows its tree before decoding).
    func testStreamedEqualsRenderedOnEveryBundledVector() throws {
        let root = Vectors.repoRoot.appendingPathComponent("Conformance")
        let files = (FileManager.default.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".nnc") }.sorted()
        XCTAssertGreaterThan(files.count, 50)
        for f in files {
            let input = [(path: f, source: try NNRByteSource(contentsOf: root.appendingPathComponent(f)))]
            for format in [DumpStreamFormat.text, .json, .xml] {
                XCTAssertEqual(Self.streamed(input, DumpOptions(), format), Self.rendered(input, DumpOptions(), format), "\(f) \(format)")
            }
            for format in [DumpStreamFormat.json, .xml] {
                let o = DumpOptions(stats: true)
                XCTAssertEqual(Self.streamed(input, o, format), Self.rendered(input, o, format), "\(f) \(format) --stats")
            }
        }
    }

    /// An incremental sequence in one run: JSON's `files` array and XML's bitstreams.
    func testStreamedSequence() throws {
        let dir = Vectors.bundledConformance.appendingPathComponent("gen_inc_tca_hdsp_48x32")
        let inputs = try CaseFiles.bitstreams(of: dir).map { (path: $0.bitstream.lastPathComponent, source: try NNRByteSource(contentsOf: $0.bitstream)) }
        XCTAssertEqual(inputs.count, 3)
        let o = DumpOptions(stats: true, trace: true, traceLimit: 200)
        for format in [DumpStreamFormat.json, .xml] {
            XCTAssertEqual(Self.streamed(inputs, o, format), Self.rendered(inputs, o, format), "\(format)")
        }
    }

    /// 2000 tiny units and a 3000-entry NNR_TPL_REFLIST (the files Tools/dump_scaling.py makes), and
    /// an NNR_AGG unit of 300 units.
    func testManyUnitsAndLongLists() throws {
        let prologue: [UInt8] = [0x00, 0x04, 0x02, 0x01, 0x00, 0x08, 0x06, 0x81, 0x00, 0x40, 0x00, 0x80]
        let many = prologue + Array(repeating: [0x00, 0x04, 0x02, 0x01] as [UInt8], count: 2000).joined()
        // count_topology_elements_minus2 = 2998: ue(7) in 16 bits (4 leading zeros, 12 bits)
        let n = 3000
        var body: [UInt8] = [6, 0]
        let w = (n - 2) + 128
        body += [UInt8(w >> 8), UInt8(w & 0xFF)]
        for i in 0..<n { body += Array("t\(i)".utf8) + [0] }
        let size = body.count + 5
        let tpl: [UInt8] = [UInt8(0x80 | (size >> 24)), UInt8((size >> 16) & 0xFF), UInt8((size >> 8) & 0xFF), UInt8(size & 0xFF), 0x0E] + body
        // an NNR_AGG unit carrying 300 NNR_STR units (XML: handed over between carried units)
        let carried = 300, m = carried - 2
        let aggBody: [UInt8] = [0x00, UInt8((m >> 9) & 0x7F), UInt8((m >> 1) & 0xFF), UInt8((m & 1) << 7)]
            + Array(repeating: [0x00, 0x04, 0x02, 0x01] as [UInt8], count: carried).joined()
        let aggSize = aggBody.count + 5
        let agg: [UInt8] = [0x80, UInt8((aggSize >> 16) & 0xFF), UInt8((aggSize >> 8) & 0xFF), UInt8(aggSize & 0xFF), (6 << 2) | 2] + aggBody
        for (name, bytes, units) in [("many", many, 2002), ("reflist", prologue + tpl, 3), ("agg", agg, 1)] {
            let input = [(path: name, source: NNRByteSource(bytes: bytes))]
            let json = Self.streamed(input, DumpOptions(), .json)
            XCTAssertEqual(json, Self.rendered(input, DumpOptions(), .json), name)
            // XML: libxml2's buffer is handed over in pieces, many times for 2000 units
            XCTAssertEqual(Self.streamed(input, DumpOptions(), .xml), Self.rendered(input, DumpOptions(), .xml), name)
            XCTAssertTrue(Self.streamed(input, DumpOptions(), .text).hasPrefix("file \(name): \(bytes.count) bytes, \(units) units\n"), name)
            XCTAssertFalse(json.contains("\"error\""), name)
        }
    }
}
