import Foundation
@testable import LayeronStore

extension GroupCommitWriter {
    /// Keeps the writer inside a job of its own until the returned function is called, so that
    /// what is queued meanwhile is taken as one batch. Returns once the writer is held.
    func hold() -> () -> Void {
        let entered = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        enqueue({ _ in
            entered.signal()
            gate.wait()
        }, done: { _ in })
        entered.wait()
        return { gate.signal() }
    }
}
