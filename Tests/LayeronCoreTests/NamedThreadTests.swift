import Foundation
import LayeronCore
import Synchronization
import XCTest

/// A thread the system refuses to create is an error naming the thread and the limit to raise, and
/// its body never runs; one it creates runs under its name.
final class NamedThreadTests: XCTestCase {
    func testARefusedCreationThrowsNamingTheThreadAndTheLimit() {
        let ran = Atomic<Bool>(false)
        XCTAssertThrowsError(try NamedThread.start("store-writer", creating: { _, _ in EAGAIN }) { ran.store(true, ordering: .relaxed) }) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.hasPrefix("cannot start the store-writer thread: Resource temporarily unavailable"), text)
            for limit in ["ulimit -u", "pids.max", "TasksMax"] { XCTAssertTrue(text.contains(limit), text) }
        }
        usleep(50_000)
        XCTAssertFalse(ran.load(ordering: .relaxed))
    }

    func testACreatedThreadRunsUnderItsName() throws {
        let name = Mutex("")
        let done = DispatchSemaphore(value: 0)
        try NamedThread.start("named-test") {
            name.withLock { $0 = (try? String(contentsOfFile: "/proc/thread-self/comm", encoding: .utf8)) ?? "" }
            done.signal()
        }
        XCTAssertEqual(done.wait(timeout: .now() + 10), .success)
        XCTAssertEqual(name.withLock { $0 }, "named-test\n")
    }
}
