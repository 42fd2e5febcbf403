import Foundation
import LayeronCore
@testable import LayeronServer
@testable import LayeronStore
import XCTest

/// A 410 disables its destination in memory at once and in the store with the attempt's record.
/// An operator's enable that commits after that record must leave the destination enabled in
/// memory too: when the recorder put the disable back after the enable had cleared it, the store
/// said enabled and memory disabled, and every emit was refused with 409 until another enable.
///
/// The defect's window lies between the recorder's wake after its commit and its update of memory,
/// which nothing outside the service can hold open; so each round holds the store's writer while
/// the 410's record and the enable both wait for it, which is when their commits and their updates
/// of memory can cross, and checks memory against the store once both have run. Whether they cross
/// is up to the thread scheduler: without the fix, five runs in six of the 100 rounds met it.
final class EnableAfterGoneTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-enable-gone-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: directory)
    }

    func testAnEnableCommittedAfterA410sDisableLeavesTheDestinationEnabledInMemory() throws {
        let receiver = try GoneReceiver()
        defer { receiver.stop() }
        let configPath = directory.appendingPathComponent("layeron.json").path
        let config = try ConfigLoader.load(text: Array(#"""
            {"webhooks": [], "outbound": [{"name": "gone", "url": "http://127.0.0.1:\#(receiver.port)/", "secret": {"secret": "SW_SECRET"}, "allow_private": true}]}
            """#.utf8), file: configPath)
        let metrics = Metrics()
        let secret = "whsec_ZW5hYmxlLWFmdGVyLWdvbmUtc2lnbmluZy1rZXk="
        let snapshot = try RuntimeSnapshot(config: config, configFile: configPath, resolver: DictionarySecretResolver(["SW_SECRET": secret]),
                                           environment: "test", metrics: metrics)
        let store = try EventStore(path: directory.appendingPathComponent("events.db").path)
        defer { store.close() }
        let outbound = OutboundService(store: store, snapshots: SnapshotHolder(snapshot), metrics: metrics, logger: .discard)
        outbound.start()
        defer { outbound.stop() }

        for round in 1...100 {
            let emitted: OutboundService.EmitOutcome = outbound.emit(destinationName: "gone", type: "t", payload: Array("{}".utf8), idempotencyKey: nil)
            guard case .recorded = emitted else {
                return XCTFail("round \(round): the emit was refused")
            }
            let release = Self.hold(store.writer)
            // In force in memory from the 410 on; the attempt's record, with the disable, then waits for the writer.
            XCTAssertTrue(Self.waitUntil { outbound.disabledState("gone") != nil }, "round \(round): no 410")
            Thread.sleep(forTimeInterval: 0.02)
            let enabled = DispatchGroup()
            DispatchQueue.global().async(group: enabled) {
                do { try outbound.enable("gone") } catch { XCTFail("round \(round): cannot enable: \(error)") }
            }
            Thread.sleep(forTimeInterval: 0.02)
            release()
            XCTAssertEqual(enabled.wait(timeout: .now() + 30), .success, "round \(round): the enable did not return")
            // Recorded and released: the recorder is done with the destination's state.
            XCTAssertTrue(Self.waitUntil { outbound.inFlightCount("gone") == 0 }, "round \(round): the 410 was not recorded")
            let stored = try store.disabledDestinations()["gone"]
            XCTAssertNil(stored, "round \(round): the enable committed before the 410's disable")
            XCTAssertNil(outbound.disabledState("gone"),
                         "round \(round): the store has the destination enabled, memory still has it disabled: emits are refused")
            if outbound.disabledState("gone") != nil { return }
        }
    }

    /// Keeps `writer` inside a job of its own until the returned function is called, so that what
    /// is queued meanwhile waits (as `LayeronStoreTests`' `hold()`). Returns once the writer is held.
    private static func hold(_ writer: GroupCommitWriter) -> () -> Void {
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        writer.enqueue({ _ in
            entered.signal()
            gate.wait()
        }, done: { _ in })
        entered.wait()
        return { gate.signal() }
    }

    private static func waitUntil(_ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if condition() { return true }
            usleep(1_000)
        }
        return condition()
    }
}

/// Answers every request 410 Gone, on a loopback port of its own.
private final class GoneReceiver: @unchecked Sendable {
    let port: UInt16
    private let listener: Int32
    private let done = DispatchGroup()

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) == 0 && getsockname(listener, $0, &length) == 0 }
        }
        guard bound, listen(listener, 16) == 0 else { throw POSIXError(.EADDRINUSE) }
        port = UInt16(bigEndian: address.sin_port)
        DispatchQueue.global().async(group: done) {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                Self.answer(connection)
            }
        }
    }

    /// Reads the request's head and its body (by its Content-Length), answers 410 and closes.
    private static func answer(_ connection: Int32) {
        defer { close(connection) }
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(connection, &buffer, buffer.count)
            guard n > 0 else { return }
            received += buffer[0..<n]
            let text = String(decoding: received, as: UTF8.self)
            guard let headEnd = text.range(of: "\r\n\r\n") else { continue }
            let length = text[..<headEnd.lowerBound].split(separator: "\r\n")
                .first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            if text.utf8.distance(from: headEnd.upperBound, to: text.endIndex) >= length { break }
        }
        let reply = Array("HTTP/1.1 410 Gone\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".utf8)
        _ = reply.withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
    }

    func stop() {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
        done.wait()
    }
}
