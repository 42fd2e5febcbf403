import LayeronCore
import LayeronCrypto
import LayeronPluginHost
import LayeronStore

/// The admin API's JSON shapes for events, attempts and plugins (fields as in CONTRACT.md).
enum EventJSON {
    static func summary(_ e: StoredEvent) -> [(String, JSONValue)] {
        [
            ("id", .string(e.id)),
            ("webhook", .string(e.webhook)),
            ("direction", .string(e.direction.rawValue)),
            ("provider", .string(e.provider)),
            ("type", .string(e.type)),
            ("status", .string(e.status.rawValue)),
            ("received_at", .string(WallClock.rfc3339(milliseconds: e.receivedAt))),
            ("provider_event_id", .optional(e.providerEventID)),
            ("dedupe_key", .optional(e.dedupeKey)),
            ("duplicates", .int(e.duplicates)),
            ("attempt_count", .int(e.attemptCount)),
            ("handler", .optional(e.handler)),
            ("next_attempt_at", e.nextAttemptAt.map { .string(WallClock.rfc3339(milliseconds: $0)) } ?? .null),
        ]
    }

    /// `deliveries` holds what an outbound event's attempts got back, by attempt number.
    static func detail(_ e: StoredEvent, attempts: [AttemptRecord], deliveries: [Int64: DeliveryRecord] = [:],
                       replaysWaiting: [Int64]) -> JSONValue {
        var members = summary(e)
        members.append(("replays_scheduled", .array(replaysWaiting.map { .string(WallClock.rfc3339(milliseconds: $0)) })))
        members.append(("headers", headerObject(e.headers)))
        members.append(("body", String(validating: e.body, as: UTF8.self).map(JSONValue.string) ?? .null))
        members.append(("body_base64", .string(ByteEncoding.base64.encode(e.body))))
        members.append(("attempts", .array(attempts.map { attempt($0, delivery: deliveries[$0.n]) })))
        return .object(members)
    }

    /// Headers as one JSON object: a name sent more than once (case aside) is one member whose
    /// values are joined with ", ", as HTTP combines repeated field lines (RFC 9110, section 5.3).
    /// Repeating the member instead is JSON that most clients read as its last value only.
    static func headerObject(_ headers: [(name: String, value: String)]) -> JSONValue {
        var members: [(String, JSONValue)] = []
        var position: [String: Int] = [:]
        for (name, value) in headers {
            let key = name.lowercased()
            if let i = position[key], case let .string(joined) = members[i].1 {
                members[i].1 = .string(joined + ", " + value)
            } else {
                position[key] = members.count
                members.append((name, .string(value)))
            }
        }
        return .object(members)
    }

    static func attempt(_ a: AttemptRecord, delivery: DeliveryRecord? = nil) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("n", .int(a.n)),
            ("started_at", .string(WallClock.rfc3339(milliseconds: a.startedAt))),
            ("finished_at", a.finishedAt.map { .string(WallClock.rfc3339(milliseconds: $0)) } ?? .null),
            ("duration_ms", a.finishedAt.map { .int($0 - a.startedAt) } ?? .null),
            ("outcome", .optional(a.outcome?.rawValue)),
            ("error", .optional(a.error)),
            ("replay", .bool(a.replay)),
            ("plugin", .optional(a.plugin)),
            ("plugin_version", .optional(a.pluginVersion)),
        ]
        if let d = delivery {
            members += [
                ("status_code", d.statusCode.map { .int(Int64($0)) } ?? .null),
                ("latency_ms", .int(d.latencyMilliseconds)),
                ("response_headers", headerObject(d.responseHeaders)),
                ("response_body", String(validating: d.responseBody, as: UTF8.self).map(JSONValue.string) ?? .null),
                ("response_body_base64", .string(ByteEncoding.base64.encode(d.responseBody))),
                ("transport_error", .optional(d.transportError)),
            ]
        }
        return .object(members)
    }

    static func plugin(_ p: PluginStatus) -> JSONValue {
        var members: [(String, JSONValue)] = [
            ("name", .optional(p.name)),
            ("version", .optional(p.version)),
            ("file", .string(p.file)),
            ("state", .string(p.state.rawValue)),
            ("abi_version", p.abiVersion.map { .int(Int64($0)) } ?? .null),
            ("concurrent", p.concurrent.map(JSONValue.bool) ?? .null),
            ("handlers", .array(p.handlers.map(JSONValue.string))),
            ("loaded_at", p.loadedAt.map { .string(WallClock.rfc3339(milliseconds: Int64($0.timeIntervalSince1970 * 1000))) } ?? .null),
        ]
        if let error = p.error { members.append(("error", .string(error))) }
        return .object(members)
    }

    /// Cursors are opaque to clients: the row number behind them may change shape later.
    static func cursor(afterSeq seq: Int64) -> String {
        ByteEncoding.base64url.encode(Array("s\(seq)".utf8))
    }

    static func seq(fromCursor cursor: String) -> Int64? {
        guard let bytes = ByteEncoding.base64url.decode(Substring(cursor)) else { return nil }
        let text = String(decoding: bytes, as: UTF8.self)
        guard text.hasPrefix("s") else { return nil }
        return Int64(text.dropFirst())
    }
}
