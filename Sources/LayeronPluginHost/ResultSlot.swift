import CLayeronPlugin
import Foundation
import LayeronCore
import Synchronization

/// What C sees as the opaque `layeron_result`: one call's result, held in a slot that is never
/// freed. A plugin may keep the pointer past its call and use it later from a thread of its own (the
/// ABI forbids it, but it is the easiest mistake to make). Were the pointer the call's own object,
/// freed when the call returns, that late write would corrupt the heap and the server would die
/// seconds later in a worker thread, naming no plugin. A slot outlives every call and is open only
/// for the thread of the call it was given to, from the call's start until it returns: each
/// `result_*` function checks that first (`ResultSlots.checked`) and ignores any other caller.
/// The parts of an after-handler answer the host may leave out, each reported on its own.
enum AnswerPart: UInt8, CaseIterable {
    case header = 1, body = 2
}

final class ResultSlot: @unchecked Sendable {
    /// The most of a plugin's message kept, in UTF-8 bytes (before the truncation marker). The
    /// message is stored with its attempt, returned by the admin API and logged, on every retry.
    static let messageLimit = 8192

    /// The thread (`pthread_self`) of the call the slot is open for; 0 while it is closed. Written
    /// only by that thread; read by any thread that calls a `result_*` function with the slot.
    let owner = Atomic<UInt>(0)
    /// The plugin whose calls the slot serves, and no other's (`LateResultCalls.register`): a call
    /// from outside is reported naming it, and a stale pointer never reaches another plugin's call.
    let plugin: UInt32
    /// True for a slot a thread keeps for its calls of `plugin` (`ResultSlots.open`); a slot taken
    /// from the pool goes back there when its call ends. Touched only by the thread that holds it.
    var keptByThread = false

    /// The event of the handler call the slot is open for (nil in `init`): a plugin's log line from
    /// the call's thread names it, as every other line about an event does. Touched only by the owner.
    var eventID: String?

    // What the call set. Touched only by the owner thread, during its call and right after.
    var message: String?
    var retryAfterMilliseconds: UInt64?
    var httpStatus: UInt32?
    var httpHeaders: [(name: String, value: String)] = []
    /// Bytes of `httpHeaders`, counted as `httpHeaderBytesLimit` counts them.
    var httpHeaderBytes = 0
    /// What the call set that its answer leaves out, and why (the first of each part); reported
    /// once the call has returned.
    var leftOut: [AnswerPart: String] = [:]
    var httpBody: [UInt8]?

    /// The most bytes of response header one answer takes from its plugin, each header counted as
    /// it is written (name, ": ", value, CRLF). libmicrohttpd builds an answer's header in the
    /// connection's pool, which the request's head may fill up to all but 1 KB (`HeadRoom.reserve`
    /// in LayeronHTTP), and the server's own headers take under 300 bytes of that: with more, the
    /// answer could not be built and the provider, its event recorded and handled, got none.
    static let httpHeaderBytesLimit = 512
    /// The largest response body an answer takes from its plugin. The answer is stored with its
    /// event (for the provider's retries, which get it again) and built in memory: a 200 MB body
    /// took the server from 38 MB to 1.27 GB and its recording outlasted the answer's timeout.
    static let httpBodyLimit = 1 << 20

    init(plugin: UInt32) { self.plugin = plugin }

    /// Keeps one header for the answer, or records why not: a name that is not a header name or a
    /// value with a line break (libmicrohttpd drops either without a word), a framing header (the
    /// server frames the body it sends), or one past `httpHeaderBytesLimit`. Lengths are checked
    /// before any byte is copied.
    func addHTTPHeader(name: layeron_bytes, value: layeron_bytes) {
        let room = UInt64(Self.httpHeaderBytesLimit - httpHeaderBytes)
        guard name.len < room, value.len < room, name.len + value.len + 4 <= room else {
            return refuseHeader("the answer's headers would pass \(Self.httpHeaderBytesLimit) bytes (name, value and 4 bytes a header)")
        }
        guard let nameText = name.text, let valueText = value.text else { return }
        if !HTTPToken.isHeaderName(nameText) {
            return refuseHeader("\"\(nameText.prefix(64))\" is not a header name (letters, digits and !#$%&'*+-.^_`|~)")
        }
        if let problem = HTTPToken.headerValueProblem(valueText) {
            return refuseHeader("the value of \(nameText) \(problem)")
        }
        if ["content-length", "transfer-encoding", "connection"].contains(nameText.lowercased()) {
            return refuseHeader("\(nameText) is set by the server, which frames the body itself")
        }
        httpHeaders.append((nameText, valueText))
        httpHeaderBytes += Int(name.len + value.len) + 4
    }

    /// Keeps the body for the answer unless it is over `httpBodyLimit`; an earlier body then stays.
    /// The length is checked before any byte is copied.
    func setHTTPBody(_ body: layeron_bytes) {
        guard body.len <= UInt64(Self.httpBodyLimit) else {
            return leaveOut(.body, "set a response body of \(body.len) bytes, over the \(Self.httpBodyLimit) bytes an answer carries, which was left out of its answer")
        }
        guard let bytes = body.bytes else { return }
        httpBody = bytes
    }

    private func refuseHeader(_ reason: String) {
        leaveOut(.header, "added a response header that was left out of its answer: " + reason)
    }

    private func leaveOut(_ part: AnswerPart, _ what: String) {
        if leftOut[part] == nil { leftOut[part] = what }
    }

    /// The pointer given to the plugin. Valid for the process's lifetime: slots are never freed.
    var handle: OpaquePointer { OpaquePointer(Unmanaged.passUnretained(self).toOpaque()) }

    /// Whether the plugin set any part of an HTTP answer.
    var setAnAnswer: Bool { httpStatus != nil || !httpHeaders.isEmpty || httpBody != nil }

    fileprivate func clear() {
        eventID = nil
        message = nil
        retryAfterMilliseconds = nil
        httpStatus = nil
        httpHeaders = []
        httpHeaderBytes = 0
        leftOut = [:]
        httpBody = nil
    }
}

/// Where slots come from. Each thread that calls plugins keeps one slot per plugin for its calls
/// (found through a thread-specific key: no lock on the hot path); a nested call, or a thread's
/// first call of a plugin, takes one from that plugin's pool, which grows to the most calls of the
/// plugin ever in flight at once. A thread that ends gives its slots back to the pools.
enum ResultSlots {
    /// Every slot ever made, so that none is ever freed; and those free to take, by plugin.
    private static let pool = Mutex<(all: [ResultSlot], spare: [UInt32: [ResultSlot]])>(([], [:]))

    /// The slots one thread keeps, indexed by plugin id. Touched only by that thread.
    private final class ThreadSlots {
        var byPlugin: [ResultSlot?] = []
    }

    private static let threadKey: pthread_key_t = {
        var key = pthread_key_t()
        let created = pthread_key_create(&key) { raw in
            guard let raw else { return }
            let kept = Unmanaged<ThreadSlots>.fromOpaque(raw).takeRetainedValue().byPlugin.compactMap { $0 }
            for slot in kept { slot.keptByThread = false }
            ResultSlots.pool.withLock { pool in
                for slot in kept { pool.spare[slot.plugin, default: []].append(slot) }
            }
        }
        precondition(created == 0, "pthread_key_create failed (\(created)): no thread-specific key left for plugin result slots")
        return key
    }()

    /// The current thread, as a slot's `owner` records it.
    static var currentThread: UInt { UInt(pthread_self()) }

    /// Runs `body` with a slot of `plugin` open for the calling thread, then closes it and clears
    /// what the call set. Read the result inside `body`.
    static func withSlot<T>(for plugin: UInt32, _ body: (ResultSlot) -> T) -> T {
        let slot = open(for: plugin)
        defer { close(slot) }
        return body(slot)
    }

    private static func open(for plugin: UInt32) -> ResultSlot {
        let thread: ThreadSlots
        if let raw = pthread_getspecific(threadKey) {
            thread = Unmanaged<ThreadSlots>.fromOpaque(raw).takeUnretainedValue()
        } else {
            thread = ThreadSlots()
            pthread_setspecific(threadKey, Unmanaged.passRetained(thread).toOpaque())
        }
        let i = Int(plugin)
        let slot: ResultSlot
        if i < thread.byPlugin.count, let kept = thread.byPlugin[i], kept.owner.load(ordering: .relaxed) == 0 {
            slot = kept
        } else {
            slot = take(for: plugin)
            if i >= thread.byPlugin.count { thread.byPlugin += Array(repeating: nil, count: i + 1 - thread.byPlugin.count) }
            if thread.byPlugin[i] == nil {
                slot.keptByThread = true
                thread.byPlugin[i] = slot
            }
        }
        slot.owner.store(currentThread, ordering: .releasing)
        return slot
    }

    private static func close(_ slot: ResultSlot) {
        slot.owner.store(0, ordering: .releasing)
        slot.clear()
        if !slot.keptByThread { pool.withLock { $0.spare[slot.plugin, default: []].append(slot) } }
    }

    private static func take(for plugin: UInt32) -> ResultSlot {
        pool.withLock { pool in
            if let spare = pool.spare[plugin]?.popLast() { return spare }
            let slot = ResultSlot(plugin: plugin)
            pool.all.append(slot)
            return slot
        }
    }

    /// The event of the handler call of `plugin` running on the calling thread, if any: found through
    /// the slot the thread keeps for the plugin (a nested call's pool slot is not looked for).
    static func currentEvent(of plugin: UInt32) -> String? {
        guard let raw = pthread_getspecific(threadKey) else { return nil }
        let thread = Unmanaged<ThreadSlots>.fromOpaque(raw).takeUnretainedValue()
        let i = Int(plugin)
        guard i < thread.byPlugin.count, let slot = thread.byPlugin[i], slot.owner.load(ordering: .relaxed) == currentThread else { return nil }
        return slot.eventID
    }

    /// The slot behind `pointer` when it is open for the calling thread; otherwise nil, and the
    /// ignored call is reported (`LateResultCalls`). `function` names the `result_*` function.
    static func checked(_ pointer: OpaquePointer?, _ function: StaticString) -> ResultSlot? {
        guard let pointer else { return nil }
        let slot = Unmanaged<ResultSlot>.fromOpaque(UnsafeRawPointer(pointer)).takeUnretainedValue()
        guard slot.owner.load(ordering: .acquiring) == currentThread else {
            LateResultCalls.shared.ignored(plugin: slot.plugin, function: function)
            return nil
        }
        return slot
    }
}
