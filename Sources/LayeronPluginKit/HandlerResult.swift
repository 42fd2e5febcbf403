/// What a handler decided, with an optional note for the attempt record and, for webhooks with
/// `respond: "after-handler"`, the HTTP answer the provider gets.
public struct HandlerResult: Sendable {
    public enum Verdict: Sendable, Equatable {
        /// Handled.
        case ok
        /// Transient failure: try again, no sooner than the delay when one is given.
        case retry(afterMilliseconds: UInt64?)
        /// Permanent failure: recorded, not retried.
        case error
    }

    /// The HTTP answer for `respond: "after-handler"` webhooks.
    public struct Response: Sendable {
        public var status: UInt32
        public var headers: [(name: String, value: String)]
        public var body: [UInt8]
    }

    public var verdict: Verdict
    public var message: String?
    public var response: Response?

    public init(verdict: Verdict, message: String? = nil, response: Response? = nil) {
        self.verdict = verdict
        self.message = message
        self.response = response
    }

    public static var ok: HandlerResult { HandlerResult(verdict: .ok) }

    public static func ok(_ message: String) -> HandlerResult { HandlerResult(verdict: .ok, message: message) }

    public static func retry(_ message: String, afterMilliseconds: UInt64? = nil) -> HandlerResult {
        HandlerResult(verdict: .retry(afterMilliseconds: afterMilliseconds), message: message)
    }

    public static func error(_ message: String) -> HandlerResult { HandlerResult(verdict: .error, message: message) }

    /// The same verdict, answering the provider with this status, headers and body.
    public func responding(status: UInt32, headers: [(name: String, value: String)] = [], body: [UInt8] = []) -> HandlerResult {
        var copy = self
        copy.response = Response(status: status, headers: headers, body: body)
        return copy
    }
}
