import XCTest
@testable import NNRBitIO

/// The huge-page placement of decoded float32 buffers: which 2 MiB pages are advised, the capacity
/// asked for, and that the bytes come back as written whatever the size.
final class HugePagesTests: XCTestCase {
    let mib = 1 << 20

    func testAdviceCoversWholePagesAndLargeEdges() {
        let page = HugePages.size
        // 48 bytes after a boundary, 4 MiB: both pages (the first one holds the headers)
        XCTAssertEqual(HugePages.adviceRange(start: 10 * page + 48, count: 4 * mib), (10 * page)..<(12 * page))
        // 4 MiB + 48 bytes spill 96 bytes into a third page: not advised
        XCTAssertEqual(HugePages.adviceRange(start: 10 * page + 48, count: 4 * mib + 48), (10 * page)..<(12 * page))
        // a 0.6 MB buffer alone in its page covers more than the partial minimum
        XCTAssertEqual(HugePages.adviceRange(start: 3 * page + 48, count: 589_824), (3 * page)..<(4 * page))
        // unaligned 4 MiB: the edge pages are covered by 1 MiB each (≥ 256 KiB): three pages
        XCTAssertEqual(HugePages.adviceRange(start: 5 * page + mib, count: 4 * mib), (5 * page)..<(8 * page))
        // edges covered by less than 256 KiB are left to small pages
        XCTAssertEqual(HugePages.adviceRange(start: 6 * page - 4096, count: page + 8192), (6 * page)..<(7 * page))
        // 300 KiB straddling a boundary, under 256 KiB on each side: nothing
        XCTAssertNil(HugePages.adviceRange(start: 6 * page - 150 * 1024, count: 300 * 1024))
        XCTAssertNil(HugePages.adviceRange(start: 0, count: 0))
        XCTAssertNil(HugePages.adviceRange(start: Int.max - 10, count: 20))
    }

    func testCapacityMakesTheMappingAMultipleOfTwoMiB() {
        let overhead = HugePages.arrayOverhead
        XCTAssertEqual(HugePages.capacity(count: 1000), 1000)
        XCTAssertEqual(HugePages.capacity(count: HugePages.minimumCount - 1), HugePages.minimumCount - 1)
        XCTAssertEqual(HugePages.capacity(count: 4 * mib), 6 * mib - overhead)
        XCTAssertEqual(HugePages.capacity(count: 4 * mib - overhead), 4 * mib - overhead)
        XCTAssertEqual(HugePages.capacity(count: 589_824), 2 * mib - overhead)
        XCTAssertEqual(HugePages.capacity(count: Int.max - 5), Int.max - 5)
        XCTAssertEqual(HugePages.capacity(count: 466_000, overhead: HugePages.mallocOverhead), 2 * mib - 64)
    }

    func testAllocateGivesWritableMemoryOfTheSize() {
        for count in [1, HugePages.minimumCount, 470_000, 3 * mib] {
            let p = HugePages.allocate(UInt8.self, capacity: count)
            p.initialize(repeating: 0xA5, count: count)
            XCTAssertEqual(p[count - 1], 0xA5)
            p.deallocate()
            let q = HugePages.allocate(Int32.self, capacity: count)
            q.initialize(repeating: -7, count: count)
            XCTAssertEqual(q[count - 1], -7)
            XCTAssertEqual(Int(bitPattern: q) % MemoryLayout<Int32>.alignment, 0)
            q.deallocate()
        }
    }

    func testByteArrayHoldsWhatTheBodyWrote() throws {
        for count in [0, 7, HugePages.minimumCount - 1, HugePages.minimumCount, 589_824, 2 * mib + 12_345] {
            let a = HugePages.byteArray(count: count) { p in
                for i in 0..<count { p.storeBytes(of: UInt8(truncatingIfNeeded: i &* 31 &+ 7), toByteOffset: i, as: UInt8.self) }
            }
            XCTAssertEqual(a.count, count)
            XCTAssertGreaterThanOrEqual(a.capacity, count)
            XCTAssertTrue(a.indices.allSatisfy { a[$0] == UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }, "count \(count)")
        }
    }

    func testByteArrayPassesErrorsOn() {
        struct Stop: Error {}
        XCTAssertThrowsError(try HugePages.byteArray(count: 4 * mib) { _ in throw Stop() }) { XCTAssertTrue($0 is Stop) }
    }
}
