/// The event as the host hands it to a handler; turned into a borrowed `layeron_event` for the call.
public struct HandlerEvent: Sendable {
    public var id: String
    public var webhook: String
    public var provider: String
    public var type: String
    public var providerEventID: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var receivedAtMilliseconds: Int64
    public var attempt: UInt32
    public var replay: Bool

    public init(id: String, webhook: String, provider: String, type: String, providerEventID: String,
                headers: [(name: String, value: String)], body: [UInt8], receivedAtMilliseconds: Int64,
                attempt: UInt32, replay: Bool) {
        self.id = id
        self.webhook = webhook
        self.provider = provider
        self.type = type
        self.providerEventID = providerEventID
        self.headers = headers
        self.body = body
        self.receivedAtMilliseconds = receivedAtMilliseconds
        self.attempt = attempt
        self.replay = replay
    }
}

/// What a handler decided.
public enum HandlerVerdict: Sendable, Equatable {
    case ok, retry, error
}

/// A handler's verdict with what it set on its result through the host services.
public struct HandlerOutcome: Sendable {
    public var verdict: HandlerVerdict
    public var message: String?
    public var retryAfterMilliseconds: UInt64?
    public var httpStatus: UInt32?
    public var httpHeaders: [(name: String, value: String)]
    public var httpBody: [UInt8]?
    /// Which plugin version ran the call.
    public var plugin: String
    public var pluginVersion: String
    /// False when no plugin ran the call: its plugin is not loaded, or does not provide the handler.
    public var ran = true

    public init(verdict: HandlerVerdict, message: String?, plugin: String, pluginVersion: String) {
        self.verdict = verdict
        self.message = message
        self.retryAfterMilliseconds = nil
        self.httpStatus = nil
        self.httpHeaders = []
        self.httpBody = nil
        self.plugin = plugin
        self.pluginVersion = pluginVersion
    }

    /// The outcome of a call that no loaded plugin could take, `message` saying what is missing: a
    /// retry, since the plugin may be loaded yet (hot reload), never reported as the handler's own.
    public static func notRun(_ message: String, plugin: String) -> HandlerOutcome {
        var outcome = HandlerOutcome(verdict: .retry, message: message, plugin: plugin, pluginVersion: "")
        outcome.ran = false
        return outcome
    }
}
