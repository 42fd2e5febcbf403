/// One HTTP POST to a destination, fully prepared: headers signed, body final.
public struct DeliveryRequest: Sendable {
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    public var timeoutMilliseconds: Int64
    /// Skips `AddressGuard` (the destination's `allow_private`).
    public var allowPrivate: Bool

    public init(url: String, headers: [(name: String, value: String)], body: [UInt8], timeoutMilliseconds: Int64, allowPrivate: Bool) {
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
        self.allowPrivate = allowPrivate
    }
}

/// What one attempt came to: a status with a bounded copy of the answer, or a transport error.
public struct DeliveryResult: Sendable {
    /// Nil when no HTTP status arrived (refused address, DNS, connect, TLS, timeout).
    public var status: Int?
    /// The answer's headers, at most `DeliveryLimits.headerBytes` of them.
    public var headers: [(name: String, value: String)]
    /// The first `DeliveryLimits.bodyBytes` of the answer's body.
    public var bodySnippet: [UInt8]
    public var transportError: String?
    /// From handing the request to libcurl to the transfer's end.
    public var latencyMilliseconds: Int64
    /// The server failed before contacting the receiver, for a cause of its own (out of file
    /// descriptors): the attempt says nothing of the receiver and takes no place in its schedule.
    public var notSent: Bool

    public init(status: Int?, headers: [(name: String, value: String)], bodySnippet: [UInt8], transportError: String?, latencyMilliseconds: Int64,
                notSent: Bool = false) {
        self.status = status
        self.headers = headers
        self.bodySnippet = bodySnippet
        self.transportError = transportError
        self.latencyMilliseconds = latencyMilliseconds
        self.notSent = notSent
    }

    public var isSuccess: Bool { status.map { (200..<300).contains($0) } ?? false }

    /// The first header called `name`, case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }
}

/// How much of an answer is kept: enough to debug a receiver, never enough to fill the database.
public enum DeliveryLimits {
    public static let bodyBytes = 4096
    public static let headerBytes = 8192
}
