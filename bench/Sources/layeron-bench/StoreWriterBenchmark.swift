import Foundation
import LayeronCore
import LayeronStore

/// The store's writer on its own, in the pattern it sees under the bench's load: rounds of `batch`
/// appended events, each round queued together with the attempt starts and finishes of the round
/// before (a no-op handler's), then waited for. The process's CPU time per event (`getrusage`)
/// moves with this shared machine as the HTTP runs do; run under `valgrind --tool=callgrind` the
/// instructions per event do not, and are what to compare across commits (docs/performance.md).
enum StoreWriterBenchmark {
    static func run(events: Int, batch: Int) throws -> JSONValue {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-store-bench-\(getpid())")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try EventStore(path: folder.appendingPathComponent("bench.db").path)
        let body = FieldExtractionBenchmark.body
        let headers = [("content-type", "application/json"), ("stripe-signature", "t=1796412695,v1=" + String(repeating: "a", count: 64))]
        let started = DispatchTime.now().uptimeNanoseconds
        let cpuBefore = processCPUMicroseconds()
        var previous: [Int64] = []
        var round = 0
        while round * batch < events {
            let done = DispatchGroup()
            let seqs = SeqBox()
            for i in 0..<batch {
                let n = round * batch + i
                let event = NewEvent(
                    id: EventID.make(nowMilliseconds: 1_796_412_695_000 + Int64(n)), webhook: "stripe", direction: .inbound,
                    provider: "stripe", type: "invoice.paid", providerEventID: "evt_bench\(n)", dedupeKey: "evt_bench\(n)",
                    dedupeExpiresAt: 1_797_017_495_000, receivedAt: 1_796_412_695_000 + Int64(n), headers: headers, body: body,
                    handler: "bench.noop")
                done.enter()
                store.append(event) { result in
                    if case let .success(.recorded(seq)) = result { seqs.add(seq) }
                    done.leave()
                }
            }
            for seq in previous {
                let plugin = "bench", version = "1"
                let start = store.startAttempt(seq: seq, attempt: AttemptRecord(
                    n: 1, startedAt: 1, finishedAt: nil, outcome: nil, error: nil, replay: false, plugin: plugin, pluginVersion: version))
                done.enter()
                store.finishAttempt(seq: seq, attempt: AttemptRecord(
                    n: 1, startedAt: 1, finishedAt: 2, outcome: .ok, error: nil, replay: false, plugin: plugin, pluginVersion: version),
                                    status: .processed, nextAttemptAt: nil, replacing: start) { _ in done.leave() }
            }
            done.wait()
            previous = seqs.values
            round += 1
        }
        let stored = round * batch
        let cpu = processCPUMicroseconds() - cpuBefore
        let wall = Double(DispatchTime.now().uptimeNanoseconds - started) / 1000
        store.close()
        return .object([("events", .int(Int64(stored))), ("batch", .int(Int64(batch))),
                        ("cpu_us_per_event", .double((cpu / Double(stored) * 100).rounded() / 100)),
                        ("wall_us_per_event", .double((wall / Double(stored) * 100).rounded() / 100))])
    }

    private static func processCPUMicroseconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1e6 + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec)
    }
}

/// The seqs of one round's appends, filled on the store's completion thread.
private final class SeqBox: @unchecked Sendable {
    private let lock = NSLock()
    private var seqs: [Int64] = []

    func add(_ seq: Int64) {
        lock.lock()
        seqs.append(seq)
        lock.unlock()
    }

    var values: [Int64] {
        lock.lock()
        defer { lock.unlock() }
        return seqs
    }
}
