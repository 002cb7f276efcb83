import XCTest
import NNRModelIO
@testable import NNRTools

/// The dump's byte writers write what the writers they replace wrote: XML escaped as libxml2's
/// xmlTextWriter escapes it (`XMLStreamWriter`), JSON strings as `JSONWriter`, numbers as `String`.
final class DumpBytesTests: XCTestCase {
    /// Every ASCII character, and non-ASCII text (including the two noncharacters XML cannot carry).
    static let samples: [String] = (1...0x7F).map { String(Character(Unicode.Scalar(UInt8($0)))) }
        + ["", "plain", "a<b>&c\"d'e", "tab\there\nnew\rcr", "é", "日本語", "\u{2028}", "\u{FFFD}", "\u{FFFE}x\u{FFFF}", "🙂",
           "\u{0}\u{1}\u{1F}\u{7F}", "]]>", "&amp;", "x\u{EF}y", String(repeating: "<&>", count: 40)]

    /// libxml2's writer and `XMLBytesWriter` on the same calls.
    func testXMLMatchesLibxml2OnEveryCharacter() {
        for s in Self.samples {
            let reference = XMLStreamWriter(unrepresentable: .codePoint)
            reference.startDocument()
            reference.open("root", [("a", s), ("b", "1")])
            reference.empty("e", [("v", s)])
            reference.textElement("t", s, [("k", s)])
            reference.textLine(s)
            reference.open("inner")
            reference.textElement("empty", "")
            reference.close()
            reference.close()
            reference.endDocument()

            var w = XMLBytesWriter()
            w.startDocument()
            w.begin("root")
            w.attribute("a", s)
            w.attribute("b", 1)
            w.openEnd()
            w.begin("e")
            w.attribute("v", s)
            w.emptyEnd()
            w.begin("t")
            w.attribute("k", s)
            w.textEnd(s)
            w.textLine(s)
            w.begin("inner")
            w.openEnd()
            w.begin("empty")
            w.textEnd("")
            w.close()
            w.close()
            w.endDocument()
            XCTAssertEqual(w.out.string, reference.take(), "\(Array(s.unicodeScalars.map(\.value)))")
        }
    }

    func testJSONStringsMatchJSONWriter() {
        for s in Self.samples + ["\\", "\"", "a\u{8}b\u{C}"] {
            var b = DumpBytes()
            b.jsonString(s)
            XCTAssertEqual(b.string, JSONWriter.quoted(s), "\(Array(s.unicodeScalars.map(\.value)))")
        }
    }

    /// The word-at-a-time check finds each escaped byte at every position of strings of 0–24 bytes.
    func testNeedsEscapingAtEveryPosition() {
        for n in 0...24 {
            for position in 0..<max(n, 1) {
                for special: UInt8 in [0x00, 0x01, 0x1F, 0x22, 0x5C, 0x20, 0x21, 0x23, 0x5B, 0x5D, 0x7F, 0x80, 0xA2, 0xDC, 0xFF] {
                    var bytes = [UInt8](repeating: UInt8(ascii: "a"), count: n)
                    if position < n { bytes[position] = special }
                    let expected = bytes.contains { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }
                    XCTAssertEqual(bytes.withUnsafeBufferPointer(JSONWriter.needsEscaping), expected, "\(n) \(position) \(special)")
                }
            }
        }
    }

    func testIntegersAsStringWritesThem() {
        for v in [0, 1, 9, 10, 11, 99, 100, 12345, -1, -9, -10, -12345, Int.max, Int.min, Int.max - 1, Int.min + 1] {
            var b = DumpBytes()
            b.int(v)
            XCTAssertEqual(b.string, String(v))
            XCTAssertEqual(DumpBytes.decimalCount(v), String(v).count)
        }
    }

    /// The emitter's layout, pinned: objects one key per line, arrays of scalars on one line, empty
    /// containers as `{}`/`[]`, nothing but separators without indentation.
    func testJSONLayout() {
        let v: JSONValue = .object([
            ("a", .int(-3)), ("s", .string("x\"y")), ("empty", .object([])), ("none", .array([])),
            ("ints", .array([.int(1), .double(2.5), .null, .bool(true)])),
            ("objects", .array([.object([("k", .bool(false))]), .array([.int(1)])])),
        ])
        XCTAssertEqual(v.serialized(indent: 1), """
        {
         "a": -3,
         "s": "x\\"y",
         "empty": {},
         "none": [],
         "ints": [1, 2.5, null, true],
         "objects": [
          {
           "k": false
          },
          [1]
         ]
        }
        """)
        XCTAssertEqual(v.serialized(indent: 0), #"{"a":-3,"s":"x\"y","empty":{},"none":[],"ints":[1,2.5,null,true],"objects":[{"k":false},[1]]}"#)
        XCTAssertEqual(v.serialized(indent: 2, level: 1), [
            "{", "    \"a\": -3,", "    \"s\": \"x\\\"y\",", "    \"empty\": {},", "    \"none\": [],",
            "    \"ints\": [1, 2.5, null, true],", "    \"objects\": [", "      {", "        \"k\": false", "      },", "      [1]", "    ]", "  }",
        ].joined(separator: "\n"))
        // The tree builder rebuilds what it is given.
        XCTAssertEqual(JSONTreeBuilder.build { v.emit(&$0) }, v)
    }
}
