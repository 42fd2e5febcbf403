/// One subscriber that outbound events are delivered to (an entry of `"outbound"` in the config).
public struct OutboundDestination: Sendable {
    public var name: String
    /// `http://` or `https://`; redirects are never followed.
    public var url: String
    /// Standard Webhooks secrets (`whsec_…`). Every active one signs, so a receiver can rotate.
    public var secrets: [SecretReference]
    /// The event types this destination subscribes to; empty for every type.
    public var events: [EventTypePattern]
    /// Sent with every delivery, after the content type and before the signature headers.
    public var headers: [(name: String, value: OutboundHeaderValue)]
    /// Per attempt, from connect to the last byte of the answer.
    public var timeout: TimeSpan
    public var schedule: DeliverySchedule
    /// At most this many deliveries start per window; nil for no cap.
    public var rate: RateCap?
    /// At most this many deliveries in flight at once.
    public var concurrency: Int
    /// Lets deliveries reach loopback, private, link-local and metadata addresses. Off by default,
    /// so that a destination URL cannot be used to probe the network the server sits in.
    public var allowPrivate: Bool
    /// Signatures added beside the Standard Webhooks ones, for receivers that expect another scheme.
    public var extraSignatures: [ExtraSignatureScheme]

    public init(name: String, url: String, secrets: [SecretReference], events: [EventTypePattern] = [],
                headers: [(name: String, value: OutboundHeaderValue)] = [], timeout: TimeSpan = .seconds(15),
                schedule: DeliverySchedule = .standard, rate: RateCap? = nil, concurrency: Int = 10,
                allowPrivate: Bool = false, extraSignatures: [ExtraSignatureScheme] = []) {
        self.name = name
        self.url = url
        self.secrets = secrets
        self.events = events
        self.headers = headers
        self.timeout = timeout
        self.schedule = schedule
        self.rate = rate
        self.concurrency = concurrency
        self.allowPrivate = allowPrivate
        self.extraSignatures = extraSignatures
    }

    /// Whether an event of `type` is delivered here (otherwise it is recorded as ignored).
    public func subscribes(to type: String) -> Bool {
        events.isEmpty || events.contains { $0.matches(type) }
    }
}

/// A signature scheme an outbound delivery may carry in addition to Standard Webhooks.
public enum ExtraSignatureScheme: String, Sendable, CaseIterable {
    /// `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>`, keyed with the secret's text as
    /// configured (GitHub receivers configure a text secret, not a decoded key).
    case github
}

/// A delivery rate: at most `count` starts per `per`, with bursts up to `count`.
public struct RateCap: Sendable, Equatable, CustomStringConvertible {
    public var count: Int
    public var per: TimeSpan

    public init(count: Int, per: TimeSpan) {
        self.count = count
        self.per = per
    }

    /// `"50/s"`, `"600/m"` or `"10000/h"`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let count = Int(parts[0]), count > 0 else { return nil }
        let windows: [Substring: TimeSpan] = ["s": .seconds(1), "m": .seconds(60), "h": .seconds(3600)]
        guard let per = windows[parts[1]] else { return nil }
        self.init(count: count, per: per)
    }

    public var description: String {
        let unit = per.milliseconds == 1000 ? "s" : per.milliseconds == 60_000 ? "m" : "h"
        return "\(count)/\(unit)"
    }
}
