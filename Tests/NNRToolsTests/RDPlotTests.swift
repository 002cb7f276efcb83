import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import XCTest
import NNRCodec
import NNRModelIO
import NNRTools

/// `nnr rd`'s outputs: the CSV round-trips, the SVG is well-formed XML with axes, ticks, labels, a
/// legend and one polyline per curve; `--target-size` accepts the usual byte units.
final class RDPlotTests: XCTestCase {
    let points = [
        RDPoint(curve: "swift-nnr DQ", qp: -20, bytes: 3122, bitsPerParameter: 2.4291, snrDB: 15.5365),
        RDPoint(curve: "swift-nnr DQ", qp: -21, bytes: 3313, bitsPerParameter: 2.5777, snrDB: 16.5257),
        RDPoint(curve: "ref, \"quoted\" <&>", qp: -20, bytes: 3119, bitsPerParameter: 2.4268, snrDB: 15.5365),
        RDPoint(curve: "ref, \"quoted\" <&>", qp: -21, bytes: 3309, bitsPerParameter: 2.5746, snrDB: 16.5257),
    ]

    func testCSVRoundTrips() throws {
        let text = RDPlot.csv(points)
        XCTAssertTrue(text.hasPrefix("curve,qp,bytes,bits_per_parameter,snr_db\n"))
        let back = try RDPlot.parseCSV(text)
        XCTAssertEqual(back.map(\.curve), points.map(\.curve))
        XCTAssertEqual(back.map(\.qp), points.map(\.qp))
        XCTAssertEqual(back.map(\.bytes), points.map(\.bytes))
        for (a, b) in zip(back, points) {
            XCTAssertEqual(a.bitsPerParameter, b.bitsPerParameter, accuracy: 1e-6)
            XCTAssertEqual(a.snrDB, b.snrDB, accuracy: 1e-6)
        }
    }

    func testCSVErrorsNameTheLine() {
        XCTAssertThrowsError(try RDPlot.parseCSV("qp,bytes\n1,2\n")) { XCTAssertEqual(($0 as? RDPlot.CSVError)?.line, 1) }
        XCTAssertThrowsError(try RDPlot.parseCSV(RDPlot.csvHeader + "\nx,-20,100,2.5,30\nx,-21,abc,2.6,31\n")) {
            XCTAssertEqual(($0 as? RDPlot.CSVError)?.line, 3)
        }
        XCTAssertThrowsError(try RDPlot.parseCSV(RDPlot.csvHeader + "\nx,-20,100,nan,30\n")) { XCTAssertEqual(($0 as? RDPlot.CSVError)?.line, 2) }
    }

    func testSVGIsWellFormedWithAxesTicksLegendAndCurves() throws {
        let svg = RDPlot.svg(points, title: "RD <test>")
        let doc = try XMLDocument(data: Data(svg.utf8), options: [])
        let root = try XCTUnwrap(doc.rootElement())
        XCTAssertEqual(root.name, "svg")
        XCTAssertEqual(try doc.nodes(forXPath: "/*/@width").first?.stringValue, "900")
        let texts = try doc.nodes(forXPath: "//*[local-name()='text']").compactMap { $0.stringValue }
        XCTAssertTrue(texts.contains("RD <test>"))
        XCTAssertTrue(texts.contains("bits per parameter"))
        XCTAssertTrue(texts.contains("SNR (dB)"))
        XCTAssertTrue(texts.contains("swift-nnr DQ"))
        XCTAssertTrue(texts.contains("ref, \"quoted\" <&>"))
        XCTAssertGreaterThanOrEqual(texts.filter { Double($0) != nil }.count, 6, "numeric tick labels")
        XCTAssertEqual(try doc.nodes(forXPath: "//*[local-name()='polyline']").count, 2)
        XCTAssertEqual(try doc.nodes(forXPath: "//*[local-name()='circle']").count, 4)
        XCTAssertFalse(svg.contains("href"), "no external resources")
    }

    func testNiceAxisRanges() {
        let (a, b, step) = RDPlot.niceRange(2.43, 7.1)
        XCTAssertEqual(step, 1)
        XCTAssertEqual(a, 2)
        XCTAssertEqual(b, 8)
        let (c, d, s2) = RDPlot.niceRange(30, 30)
        XCTAssertLessThan(c, 30)
        XCTAssertGreaterThan(d, 30)
        XCTAssertGreaterThan(s2, 0)
    }
}
