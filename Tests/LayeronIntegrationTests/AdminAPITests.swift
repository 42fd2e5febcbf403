import Foundation
import LayeronCore
import LayeronHTTP
import XCTest

/// Issue 7 against the real server: filters, pagination, errors, replay rules, scopes, the mount,
/// retention, metrics and the CLI.
final class AdminAPITests: XCTestCase {
    let secret = "admin-test-secret"
    var server: TestServer!
    var output: String { server.path("handled.log") }

    override func setUpWithError() throws {
        server = try TestServer(environment: ["HOOK_SECRET": secret, "READER_TOKEN": "reader-token", "APP_TOKEN": "app-token"])
        try PluginBuilder.install(source: PluginBuilder.fixturePath("behaviours"), into: server.pluginsDir, name: "behaviours.so")
        try writeConfig(retention: "30d")
        try server.start()
    }

    override func tearDown() {
        server.stop()
        server = nil
    }

    private func writeConfig(retention: String) throws {
        func hook(_ name: String, _ extra: String) -> String {
            """
            {"name": "\(name)", "provider": "custom",
             "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "encoding": "hex", "secret": {"secret": "HOOK_SECRET"}},
             "event": {"id": "body.id", "type": "body.type"}, "dedupe": {"key": "body.id"}, \(extra)}
            """
        }
        try server.writeConfig("""
            {
              "admin": { "token": { "secret": "LAYERON_ADMIN_TOKEN" }, "retention": "\(retention)",
                         "tokens": [ { "name": "support", "token": { "secret": "READER_TOKEN" }, "scope": "read" } ],
                         "mount": { "path": "/_layeron", "token": { "secret": "APP_TOKEN" } } },
              "plugins": { "dir": "\(server.pluginsDir)", "config": { "behaviours": { "output": "\(output)" } } },
              "webhooks": [
                \(hook("shop", #""on": {"order.*": "behaviours.ok", "order.refunded": "behaviours.always_error"}"#)),
                \(hook("crm", #""handler": "behaviours.ok""#))
              ]
            }
            """)
    }

    @discardableResult
    private func send(_ webhook: String, id: String, type: String) throws -> String {
        let body = Array(#"{"id": "\#(id)", "type": "\#(type)"}"#.utf8)
        let r = try server.post("/webhooks/\(webhook)", headers: [("x-sig", Signing.hmacHex(body: body, secret: secret))], body: body)
        XCTAssertEqual(r.status, 200, r.body)
        return try XCTUnwrap(try JSONParser.parse(r.body)["id"]?.stringValue)
    }

    private func ids(_ path: String, token: String? = nil) throws -> [String] {
        let r = try server.admin("GET", path, token: token)
        XCTAssertEqual(r.status, 200, r.text)
        guard case let .array(events)? = r.json["events"] else {
            XCTFail("\(path): no events array in \(r.text)")
            return []
        }
        return events.compactMap { $0["id"]?.stringValue }
    }

    /// The value of an unlabelled sample on a metrics page.
    private func sample(_ name: String, in page: String) -> UInt64? {
        page.split(separator: "\n").first { $0.hasPrefix(name + " ") }.flatMap { UInt64($0.dropFirst(name.count + 1)) }
    }

    private func settle() throws {
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM events WHERE status = 'pending'") == 0 })
    }

    func testFiltersAndTheirCombinations() throws {
        let a = try send("shop", id: "a", type: "order.created")
        let b = try send("shop", id: "b", type: "order.refunded")
        let c = try send("shop", id: "c", type: "customer.created")
        let d = try send("crm", id: "d", type: "contact.created")
        try settle()
        XCTAssertEqual(try ids("/admin/events"), [d, c, b, a])
        XCTAssertEqual(try ids("/admin/events?webhook=shop"), [c, b, a])
        XCTAssertEqual(try ids("/admin/events?status=failed"), [b])
        XCTAssertEqual(try ids("/admin/events?status=ignored"), [c])
        XCTAssertEqual(try ids("/admin/events?type=order.*"), [b, a])
        XCTAssertEqual(try ids("/admin/events?type=order.created"), [a])
        XCTAssertEqual(try ids("/admin/events?webhook=shop&status=processed&type=order.*"), [a])
        XCTAssertEqual(try ids("/admin/events?direction=inbound&webhook=crm"), [d])
        XCTAssertEqual(try ids("/admin/events?direction=outbound"), [])
        XCTAssertEqual(try ids("/admin/events?q=b"), [b])
        XCTAssertEqual(try ids("/admin/events?q=\(a)"), [a])
        let future = WallClockForTests.rfc3339(Date().addingTimeInterval(3600))
        let past = WallClockForTests.rfc3339(Date().addingTimeInterval(-3600))
        XCTAssertEqual(try ids("/admin/events?since=\(future)"), [])
        XCTAssertEqual(try ids("/admin/events?since=\(past)&until=\(future)&webhook=crm"), [d])
        XCTAssertEqual(try ids("/admin/events?until=\(past)"), [])
        // RFC 3339 §5.6 allows a lower-case t and z.
        XCTAssertEqual(try ids("/admin/events?since=\(past.lowercased())&until=\(future.lowercased())&webhook=crm"), [d])
    }

    func testPaginationHasNoGapsOrRepeatsWhileEventsArrive() throws {
        var sent: [String] = []
        for i in 0..<23 { sent.append(try send("crm", id: "p\(i)", type: "contact.updated")) }
        var seen: [String] = []
        var cursor: String?
        var page = 0
        repeat {
            let r = try server.admin("GET", "/admin/events?webhook=crm&limit=5" + (cursor.map { "&cursor=\($0)" } ?? ""))
            XCTAssertEqual(r.status, 200, r.text)
            guard case let .array(events)? = r.json["events"] else { return XCTFail(r.text) }
            seen += events.compactMap { $0["id"]?.stringValue }
            cursor = r.json["next_cursor"]?.stringValue
            // New events keep arriving between pages; they are newer than every cursor, so they do
            // not shift the pages being read.
            try send("crm", id: "late\(page)", type: "contact.updated")
            page += 1
        } while cursor != nil && page < 20
        XCTAssertEqual(seen, sent.reversed())
    }

    func testInvalidParametersAndUnknownIds() throws {
        for (query, named) in [("limit=0", "limit"), ("limit=1001", "limit"), ("status=done", "status"), ("direction=up", "direction"),
                               ("since=yesterday", "since"), ("cursor=%21%21", "cursor"), ("colour=red", "colour"), ("type=or*der", "type"),
                               ("since=2026-02-29T00:00:00Z", "since"), ("since=2026-11-31T09:02:00Z", "since"),
                               ("until=2026-12-05T24:00:00Z", "until")] {
            let r = try server.admin("GET", "/admin/events?\(query)")
            XCTAssertEqual(r.status, 400, query)
            XCTAssertTrue(r.json["error"]?.stringValue?.contains(named) == true, "\(query): \(r.text)")
        }
        XCTAssertEqual(try server.admin("GET", "/admin/events/whevt_01M911DDCN149CAQ6BY66CX4DC").status, 404)
        XCTAssertEqual(try server.admin("POST", "/admin/events/whevt_01M911DDCN149CAQ6BY66CX4DC/replay").status, 404)
        XCTAssertEqual(try server.admin("GET", "/admin/nothing").status, 404)
        XCTAssertEqual(try server.admin("DELETE", "/admin/events").status, 405)
        // A name given twice, or a value cut at a NUL (`%00`), is refused; empty components are skipped.
        for (query, named) in [("cursor=abc%00def", "%00")] {
            let r = try server.admin("GET", "/admin/events?\(query)")
            XCTAssertEqual(r.status, 400, query)
            XCTAssertTrue(r.json["error"]?.stringValue?.contains(named) == true, "\(query): \(r.text)")
        }
        XCTAssertEqual(try server.admin("GET", "/admin/events?&limit=1&&").status, 200)
        // A parameter given twice: the last counts (a script appending an override). Two events
        // are stored so that either order of the limits shows which one was taken.
        try send("crm", id: "twice1", type: "contact.created")
        try send("crm", id: "twice2", type: "contact.created")
        try settle()
        XCTAssertEqual(try ids("/admin/events?limit=1000&limit=1").count, 1)
        XCTAssertEqual(try ids("/admin/events?limit=1&limit=1000").count, 2)
        let plus = try server.admin("GET", "/admin/events?since=2026-12-06T11:00:00+05:30")
        XCTAssertTrue(plus.text.contains("send it as %2B"), plus.text)
    }

    /// An empty id (`replay "$ID"` with ID unset) made `/admin/events//replay`, which matched the
    /// bulk replay and re-ran the handlers of up to 100 events; the CLI sent it and said "queued".
    func testAnEmptyIdIsNoRoute() throws {
        try send("shop", id: "e1", type: "order.refunded")
        try settle()
        for (method, path) in [("POST", "/admin/events//replay"), ("POST", "/admin/events/%2F/replay"), ("GET", "/admin//events")] {
            XCTAssertEqual(try server.admin(method, path).status, 404, "\(method) \(path)")
        }
        // Slashes at either end are no segment: probes and proxies write them.
        for path in ["/admin/events/", "//admin/events", "/healthz/"] {
            XCTAssertEqual(try server.admin("GET", path).status, 200, path)
        }
        let cli = try CLI.run(["events", "replay", "", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(cli.status, 2, cli.stdout)
        XCTAssertTrue(cli.stderr.contains("events replay: the event id is empty"), cli.stderr)
        XCTAssertEqual(try CLI.run(["events", "show", "", "--admin", server.adminURL], token: server.adminToken).status, 2)
        let store = try StoreReader(path: server.databasePath)
        usleep(300_000)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts WHERE replay = 1") + (try store.count("SELECT COUNT(*) FROM replay_requests")), 0)
    }

    func testReplayOfAProcessedEventNeedsForce() throws {
        let a = try send("shop", id: "f1", type: "order.created")
        try settle()
        let refused = try server.admin("POST", "/admin/events/\(a)/replay")
        XCTAssertEqual(refused.status, 409)
        XCTAssertTrue(refused.text.contains("force=true"), refused.text)
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(a)/replay?force=true").status, 202)
        let failed = try send("shop", id: "f2", type: "order.refunded")
        try settle()
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(failed)/replay").status, 202)
        let ignored = try send("shop", id: "f3", type: "customer.created")
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(ignored)/replay").status, 409)
        XCTAssertTrue(try server.waitUntil {
            if case let .array(attempts)? = try server.admin("GET", "/admin/events/\(a)").json["attempts"] { return attempts.count == 2 }
            return false
        })
    }

    func testScheduledReplayRunsAtItsTime() throws {
        let a = try send("crm", id: "s1", type: "contact.created")
        try settle()
        let at = WallClockForTests.rfc3339(Date().addingTimeInterval(1.5))
        let r = try server.admin("POST", "/admin/events/\(a)/replay?force=true&at=\(at)")
        XCTAssertEqual(r.status, 202, r.text)
        XCTAssertEqual(r.json["event"]?["replay_at"]?.stringValue.flatMap(RFC3339Probe.parse), RFC3339Probe.parse(at))
        // The event shows the replay waiting for its time (and the CLI says so).
        let waiting = try server.admin("GET", "/admin/events/\(a)").json["replays_scheduled"]
        XCTAssertEqual(waiting.flatMap { if case let .array(times) = $0 { times.compactMap(\.stringValue).compactMap(RFC3339Probe.parse) } else { nil } },
                       [try XCTUnwrap(RFC3339Probe.parse(at))], waiting?.serialized() ?? "no replays_scheduled")
        let shown = try CLI.run(["events", "show", a, "--admin", server.adminURL], token: server.adminToken)
        XCTAssertTrue(shown.stdout.contains("replays scheduled: "), shown.stdout)
        // An `at` in the past runs now, and the answer says so.
        let asked = Date()
        let past = try server.admin("POST", "/admin/events/\(a)/replay?force=true&at=2020-01-01T00:00:00Z")
        XCTAssertEqual(past.status, 202, past.text)
        let runsAt = try XCTUnwrap(past.json["event"]?["replay_at"]?.stringValue.flatMap(RFC3339Probe.parse), past.text)
        XCTAssertLessThan(abs(runsAt.timeIntervalSince(asked)), 5, past.text)
        func attempts() throws -> [JSONValue] {
            if case let .array(list)? = try server.admin("GET", "/admin/events/\(a)").json["attempts"] { return list }
            return []
        }
        XCTAssertTrue(try server.waitUntil { try attempts().count == 3 })
        XCTAssertEqual(try server.admin("GET", "/admin/events/\(a)").json["replays_scheduled"], .array([]))
        // Its own start time, not how many attempts a look some time later found: on a slow machine
        // that look can come after the replay's time.
        let started = try XCTUnwrap(try attempts().last?["started_at"]?.stringValue.flatMap(RFC3339Probe.parse))
        XCTAssertGreaterThanOrEqual(started, try XCTUnwrap(RFC3339Probe.parse(at)), "the replay ran before its time")
    }

    func testBulkReplayQueuesWhatTheFilterSelects() throws {
        for i in 0..<3 { try send("shop", id: "bf\(i)", type: "order.refunded") }
        try send("shop", id: "bok", type: "order.created")
        try settle()
        let body = Array(#"{"webhook": "shop", "status": "failed"}"#.utf8)
        let r = try HTTPClientShortcut.post(server.adminURL + "/admin/events/replay", token: server.adminToken, body: body)
        XCTAssertEqual(r.status, 202, r.text)
        XCTAssertEqual(r.json["queued"]?.scalarText, "3")
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM attempts WHERE replay = 1") == 3 })
        let bad = try HTTPClientShortcut.post(server.adminURL + "/admin/events/replay", token: server.adminToken, body: Array(#"{"limit": 5000}"#.utf8))
        XCTAssertEqual(bad.status, 400)
        // A filter takes one value: a list or an object is refused by name, not dropped (which
        // widened the filter to everything and replayed it).
        for (body, named) in [(#"{"webhook": ["crm"]}"#, "webhook"), (#"{"webhook": {"eq": "crm"}, "status": "failed"}"#, "webhook"),
                              (#"{"type": ["order.created"], "force": true}"#, "type"), (#"{"bogus": [1]}"#, "bogus")] {
            let r = try HTTPClientShortcut.post(server.adminURL + "/admin/events/replay", token: server.adminToken, body: Array(body.utf8))
            XCTAssertEqual(r.status, 400, "\(body): \(r.text)")
            XCTAssertTrue(r.json["error"]?.stringValue?.contains(named) == true, "\(body): \(r.text)")
        }
        let unset = try HTTPClientShortcut.post(server.adminURL + "/admin/events/replay", token: server.adminToken,
                                                body: Array(#"{"webhook": "shop", "status": "failed", "type": null}"#.utf8))
        XCTAssertEqual(unset.status, 202, unset.text)
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM replay_requests") + (try store.count("SELECT COUNT(*) FROM attempts WHERE replay = 1")), 6,
                       "only the three asked for twice were replayed")
        // Filters in the query (as the list takes them), an empty filter (`{"webhook": "$WH"}` with
        // WH unset) or one given twice widened the replay to every event; each is refused.
        let inQuery = try HTTPClientShortcut.post(server.adminURL + "/admin/events/replay?webhook=nosuch&status=failed", token: server.adminToken, body: [])
        XCTAssertEqual(inQuery.status, 400, inQuery.text)
        XCTAssertTrue(inQuery.text.contains("not in the query"), inQuery.text)
        for (body, named) in [(#"{"webhook": "", "force": true}"#, "invalid webhook \"\""), (#"{"webhook": "shop", "limit": 1, "limit": 2}"#, "limit is given twice")] {
            let r = try HTTPClientShortcut.post(server.adminURL + "/admin/events/replay", token: server.adminToken, body: Array(body.utf8))
            XCTAssertEqual(r.status, 400, "\(body): \(r.text)")
            XCTAssertTrue(r.json["error"]?.stringValue?.contains(named) == true, "\(body): \(r.text)")
        }
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM replay_requests") + (try store.count("SELECT COUNT(*) FROM attempts WHERE replay = 1")), 6)
    }

    func testTokenScopesAndTheMount() throws {
        let a = try send("crm", id: "t1", type: "contact.created")
        try settle()
        XCTAssertEqual(try server.admin("GET", "/admin/events", token: "reader-token").status, 200)
        XCTAssertEqual(try server.admin("POST", "/admin/events/\(a)/replay?force=true", token: "reader-token").status, 403)
        XCTAssertEqual(try server.admin("GET", "/admin/events", token: "app-token").status, 401, "the mount token must not open the admin listener")
        // `Bearer`, one or more spaces or tabs, the token, and optional whitespace after it
        // (RFC 6750, RFC 9110); a prefix of the token or the token with more after it is not it.
        for token in [" reader-token", "\treader-token", "reader-token ", "reader-token\t "] {
            XCTAssertEqual(try server.admin("GET", "/admin/events", token: token).status, 200, "Bearer \(token)")
        }
        for token in ["reader-toke", "reader-tokenX", "reader-token x", ""] {
            XCTAssertEqual(try server.admin("GET", "/admin/events", token: token).status, 401, "Bearer \(token)")
        }

        let mounted = server.publicURL + "/_layeron"
        XCTAssertEqual(try HTTPClientShortcut.get(mounted + "/admin/events", token: "app-token").status, 200)
        XCTAssertEqual(try HTTPClientShortcut.get(mounted + "/admin/events/\(a)", token: "app-token").status, 200)
        XCTAssertEqual(try HTTPClientShortcut.post(mounted + "/admin/events/\(a)/replay?force=true", token: "app-token", body: []).status, 202)
        XCTAssertEqual(try HTTPClientShortcut.get(mounted + "/admin/events", token: server.adminToken).status, 401)
        XCTAssertEqual(try HTTPClientShortcut.get(mounted + "/admin/plugins", token: "app-token").status, 404)
        XCTAssertEqual(try HTTPClientShortcut.get(mounted + "/admin/events", token: nil).status, 401)
    }

    func testOpenAPIWebhooksAndPlugins() throws {
        let spec = try server.admin("GET", "/admin/openapi.yaml")
        XCTAssertEqual(spec.status, 200)
        XCTAssertTrue(spec.text.hasPrefix("openapi: 3"))
        try send("shop", id: "w1", type: "order.created")
        let webhooks = try server.admin("GET", "/admin/webhooks")
        guard case let .array(list)? = webhooks.json["webhooks"] else { return XCTFail(webhooks.text) }
        XCTAssertEqual(list.map { $0["name"]?.stringValue }, ["shop", "crm"])
        XCTAssertEqual(list[0]["path"]?.stringValue, "/webhooks/shop")
        XCTAssertEqual(list[0]["counters"]?["accepted"]?.scalarText, "1")
        XCTAssertEqual(list[0]["handlers"]?["order.*"]?.stringValue, "behaviours.ok")
        let plugins = try server.admin("GET", "/admin/plugins")
        XCTAssertEqual(plugins.json["plugins"].flatMap { if case let .array(p) = $0 { p.first } else { nil } }?["name"]?.stringValue, "behaviours")
    }

    func testMetricsMoveAsEventsArrive() throws {
        let before = try server.admin("GET", "/metrics").text
        XCTAssertFalse(before.contains(#"layeron_requests_total{webhook="crm",code="200"}"#))
        try send("crm", id: "m1", type: "contact.created")
        try send("crm", id: "m1", type: "contact.created")
        let body = Array("{}".utf8)
        _ = try server.post("/webhooks/crm", headers: [("x-sig", "00")], body: body)
        try settle()
        // The attempt is counted a moment before its end-to-end time is observed: wait for both.
        XCTAssertTrue(try server.waitUntil {
            let page = try server.admin("GET", "/metrics").text
            return page.contains(#"layeron_handler_attempts_total{plugin="behaviours",outcome="ok"} 1"#)
                && page.contains("layeron_event_end_to_end_seconds_count 1")
        })
        let after = try server.admin("GET", "/metrics").text
        XCTAssertTrue(after.contains(#"layeron_requests_total{webhook="crm",code="200"} 2"#), after)
        XCTAssertTrue(after.contains(#"layeron_requests_total{webhook="crm",code="400"} 1"#), after)
        XCTAssertTrue(after.contains(#"layeron_duplicates_total{webhook="crm"} 1"#), after)
        XCTAssertTrue(after.contains(#"layeron_signature_rejections_total{webhook="crm",reason="mismatch"} 1"#), after)
        XCTAssertTrue(after.contains("layeron_event_end_to_end_seconds_count 1"), after)
        XCTAssertTrue(after.contains("layeron_events_due 0"), after)
        XCTAssertTrue(after.contains("layeron_store_wal_restart_seconds_count 0"), "no WAL cycle ends in a test this small")
        // The event, its duplicate and its attempt record: three writes at least, in one to three batches.
        let batches = try XCTUnwrap(sample("layeron_store_batches_total", in: after)), jobs = try XCTUnwrap(sample("layeron_store_batch_jobs_total", in: after))
        XCTAssertGreaterThanOrEqual(batches, 1, after)
        XCTAssertGreaterThanOrEqual(jobs, max(3, batches), after)
        XCTAssertFalse(after.contains(secret))
    }

    /// Requests no webhook took (a path no webhook serves, framing the listener refuses, a body over
    /// the limit) are counted by listener and a fixed reason, never by anything the request wrote.
    func testRequestsNoWebhookTookAreCountedByReason() throws {
        XCTAssertEqual(try server.post("/webhooks/nowhere-\(UUID().uuidString)", body: Array("{}".utf8)).status, 404)
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        let smuggled = try RawConnection.exchange(port: port,
            "POST /webhooks/crm HTTP/1.1\r\nHost: x\r\nContent-Length : 2\r\n\r\n{}")
        XCTAssertTrue(smuggled.hasPrefix("HTTP/1.1 400"), smuggled)
        let large = try RawConnection.exchange(port: port,
            "POST /webhooks/crm HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
        XCTAssertTrue(large.hasPrefix("HTTP/1.1 413"), large)
        XCTAssertFalse(large.contains("Layeron-Admin-API"), large)
        // The admin listener's own refusals carry the admin API's mark, as its handler's errors do:
        // the CLI takes an unmarked error for another server's and says to check the URL.
        let adminPort = try XCTUnwrap(URL(string: server.adminURL)?.port)
        let adminLarge = try RawConnection.exchange(port: adminPort,
            "POST /admin/events/replay HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n")
        XCTAssertTrue(adminLarge.hasPrefix("HTTP/1.1 413"), adminLarge)
        XCTAssertTrue(adminLarge.contains("Layeron-Admin-API: 1\r\n"), adminLarge)
        let page = try server.admin("GET", "/metrics").text
        for reason in ["no_webhook", "space_before_colon", "body_too_large"] {
            XCTAssertTrue(page.contains("layeron_http_refused_total{listener=\"public\",reason=\"\(reason)\"} 1"), page)
        }
        XCTAssertFalse(page.contains("nowhere"), "a path is never a label")
    }

    func testRetentionDeletesExactlyWhatIsPastTheWindow() throws {
        let old = try send("crm", id: "old", type: "contact.created")
        try settle()
        usleep(2_200_000)
        server.stop()
        try writeConfig(retention: "2s")
        try server.start()
        let fresh = try send("crm", id: "new", type: "contact.created")
        let store = try StoreReader(path: server.databasePath)
        XCTAssertTrue(try server.waitUntil { try store.count("SELECT COUNT(*) FROM events WHERE id = '\(old)'") == 0 })
        XCTAssertEqual(try ids("/admin/events"), [fresh])
        XCTAssertEqual(try store.count("SELECT COUNT(*) FROM attempts a LEFT JOIN events e ON e.seq = a.event_seq WHERE e.seq IS NULL"), 0)
    }

    func testPurgeOnDemandFromTheCLI() throws {
        let a = try send("crm", id: "cli1", type: "contact.created")
        try settle()
        let before = WallClockForTests.rfc3339(Date().addingTimeInterval(1))
        usleep(1_100_000)
        let b = try send("crm", id: "cli2", type: "contact.created")
        let purge = try CLI.run(["events", "purge", "--before", before, "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(purge.status, 0, purge.stderr)
        XCTAssertTrue(purge.stdout.contains("deleted 1 events"), purge.stdout)
        XCTAssertEqual(try ids("/admin/events"), [b])
        XCTAssertFalse(try ids("/admin/events").contains(a))
    }

    /// `events show` prints a body for a person: escape sequences in it are written out, not sent to
    /// the terminal, and a body that is not UTF-8 is named as such.
    func testCLIShowKeepsABodysControlCharactersOffTheTerminal() throws {
        let hostile = Array(#"{"id": "esc", "type": "crm.note", "note": "\#u{1B}[2J\#u{1B}]0;owned\#u{07}"}"#.utf8)
        let sent = try server.post("/webhooks/crm", headers: [("x-sig", Signing.hmacHex(body: hostile, secret: secret))], body: hostile)
        let id = try XCTUnwrap(try JSONParser.parse(Array(sent.body.utf8))["id"]?.stringValue, sent.body)
        let show = try CLI.run(["events", "show", id, "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(show.status, 0, show.stderr)
        XCTAssertFalse(show.stdout.unicodeScalars.contains("\u{1B}"), show.stdout)
        XCTAssertTrue(show.stdout.contains(#"\u{1b}[2J\u{1b}]0;owned\u{7}"#), show.stdout)

        // A type (from the body, JSON-escaped there) in the list's table and the single view.
        let typed = Array(#"{"id": "esc-type", "type": "crm.\u001b[31mred"}"#.utf8)
        XCTAssertEqual(try server.post("/webhooks/crm", headers: [("x-sig", Signing.hmacHex(body: typed, secret: secret))], body: typed).status, 200)
        let list = try CLI.run(["events", "list", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertTrue(list.stdout.contains(#"crm.\u{1b}[31mred"#), list.stdout)
        XCTAssertFalse(list.stdout.unicodeScalars.contains("\u{1B}"), list.stdout)

        let binary: [UInt8] = Array(#"{"id": "bin", "type": "crm.note", "b": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
        let sentBinary = try server.post("/webhooks/crm", headers: [("x-sig", Signing.hmacHex(body: binary, secret: secret))], body: binary)
        XCTAssertEqual(sentBinary.status, 200, sentBinary.body)
        let binaryID = try XCTUnwrap(try JSONParser.parse(Array(sentBinary.body.utf8))["id"]?.stringValue)
        let showBinary = try CLI.run(["events", "show", binaryID, "--admin", server.adminURL], token: server.adminToken)
        XCTAssertTrue(showBinary.stdout.contains("body: \(binary.count) bytes, not UTF-8"), showBinary.stdout)
    }

    /// What HTTP and scripts expect at the edges: the auth scheme's case, literal routes under a
    /// wrong method, HEAD where GET is served, a header sent twice, and the CLI's token.
    func testAdminSurfaceFollowsHTTPsRulesAndTheContractsToken() throws {
        let lower = try HTTPClient.request(method: "GET", url: server.adminURL + "/admin/events?limit=1",
                                           headers: [("Authorization", "bearer \(server.adminToken)")], body: nil)
        XCTAssertEqual(lower.status, 200, String(decoding: lower.body, as: UTF8.self))
        let getReplay = try server.admin("GET", "/admin/events/replay")
        XCTAssertEqual(getReplay.status, 405, getReplay.text)
        let deletePurge = try server.admin("DELETE", "/admin/events/purge")
        XCTAssertEqual(deletePurge.status, 405, deletePurge.text)
        XCTAssertFalse(deletePurge.text.contains("GET"), deletePurge.text)
        let mountedPurge = try HTTPClientShortcut.post(server.publicURL + "/_layeron/admin/events/purge?before=2020-01-01T00:00:00Z",
                                                       token: "app-token", body: [])
        XCTAssertEqual(mountedPurge.status, 404, mountedPurge.text)
        XCTAssertEqual(try HTTPClientShortcut.head(server.adminURL + "/healthz"), 200)

        let body = Array(#"{"id": "hd1", "type": "contact.created"}"#.utf8)
        let sent = try server.post("/webhooks/crm", headers: [("x-sig", Signing.hmacHex(body: body, secret: secret)),
                                                              ("X-Dup", "a"), ("x-dup", "b")], body: body)
        let id = try XCTUnwrap(try JSONParser.parse(sent.body)["id"]?.stringValue, sent.body)
        let shown = try server.admin("GET", "/admin/events/\(id)")
        XCTAssertEqual(shown.json["headers"]?["x-dup"]?.stringValue, "a, b", shown.text)
        XCTAssertEqual(shown.text.components(separatedBy: "\"x-dup\"").count, 2, "one member: \(shown.text)")

        // The address from a config whose token reference resolves nowhere: LAYERON_ADMIN_TOKEN is sent.
        let address = server.adminURL.replacingOccurrences(of: "http://", with: "")
        let config = server.path("cli-only.json")
        try #"{"admin": {"listen": "\#(address)", "token": {"secret": "OPS_ONLY_TOKEN"}}, "webhooks": []}"#
            .write(toFile: config, atomically: true, encoding: .utf8)
        let listed = try CLI.run(["events", "list", "--config", config], token: server.adminToken, directory: server.path("."))
        XCTAssertEqual(listed.status, 0, listed.stderr)
        let none = try CLI.run(["events", "list", "--config", config], directory: server.path("."))
        XCTAssertEqual(none.status, 4)
        XCTAssertTrue(none.stderr.contains("no admin token"), none.stderr)
        // A config that does not load is said, not hidden behind "is `layeron serve` running?".
        let broken = server.path("broken.json")
        try #"{"admin": {"listen": 5}}"#.write(toFile: broken, atomically: true, encoding: .utf8)
        let fallback = try CLI.run(["events", "list", "--config", broken], token: server.adminToken, directory: server.path("."))
        XCTAssertTrue(fallback.stderr.contains("warning: \(broken) did not load, so the default admin address http://127.0.0.1:9090 is used"),
                      fallback.stderr)
    }

    func testCLIListShowReplayAndExitCodes() throws {
        try send("shop", id: "c0", type: "order.created")
        let a = try send("shop", id: "c1", type: "order.created")
        try settle()
        // The next page's command keeps the list's filters.
        let paged = try CLI.run(["events", "list", "--webhook", "shop", "--type", "order.*", "--limit", "1", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertTrue(paged.stdout.contains("more: layeron events list --webhook shop --type 'order.*' --limit 1 --admin \(server.adminURL) --cursor "), paged.stdout)
        let table = try CLI.run(["events", "list", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(table.status, 0, table.stderr)
        let lines = table.stdout.split(separator: "\n")
        XCTAssertTrue(lines.first?.hasPrefix("ID") == true && lines.first?.contains("STATUS") == true, table.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix(a) && $0.contains("processed") && $0.contains("order.created") }, table.stdout)

        let json = try CLI.run(["events", "list", "--json", "--webhook", "shop", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(json.status, 0)
        XCTAssertEqual(try JSONParser.parse(json.stdout)["events"].flatMap { if case let .array(e) = $0 { e.first } else { nil } }?["id"]?.stringValue, a)

        let show = try CLI.run(["events", "show", a, "--json", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(try JSONParser.parse(show.stdout)["status"]?.stringValue, "processed")
        XCTAssertEqual(try CLI.run(["events", "replay", a, "--admin", server.adminURL], token: server.adminToken).status, 1)
        XCTAssertEqual(try CLI.run(["events", "replay", a, "--force", "--admin", server.adminURL], token: server.adminToken).status, 0)
        let missing = try CLI.run(["events", "show", "whevt_01M911DDCN149CAQ6BY66CX4DC", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("the server answered 404: no event whevt_01M911DDCN149CAQ6BY66CX4DC") && !missing.stderr.contains("check --admin"),
                      "the admin API's own 404 is its answer: \(missing.stderr)")
        let wrongToken = try CLI.run(["events", "list", "--admin", server.adminURL], token: "nope")
        XCTAssertEqual(wrongToken.status, 4)
        XCTAssertTrue(wrongToken.stderr.contains("token"), wrongToken.stderr)
        let unreachable = try CLI.run(["events", "list", "--admin", "http://127.0.0.1:1"], token: server.adminToken)
        XCTAssertEqual(unreachable.status, 3)
        XCTAssertTrue(unreachable.stderr.contains("is `layeron serve` running?"), unreachable.stderr)
        XCTAssertEqual(try CLI.run(["events", "list", "--bogus", "--admin", server.adminURL], token: server.adminToken).status, 2)
        let sideways = try CLI.run(["events", "list", "--direction", "sideways", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(sideways.status, 2, "a value the CLI can check is a usage error: \(sideways.stderr)")
        XCTAssertEqual(try CLI.run(["events", "list", "--status", "done", "--admin", server.adminURL], token: server.adminToken).status, 2)
        for limit in ["0", "abc", "1001"] {
            let bad = try CLI.run(["events", "list", "--limit", limit, "--admin", server.adminURL], token: server.adminToken)
            XCTAssertEqual(bad.status, 2, "--limit \(limit): \(bad.stderr)")
            XCTAssertTrue(bad.stderr.contains("--limit takes a whole number from 1 to 1000"), bad.stderr)
        }
        // An empty token is no token, not a wrong one.
        let emptyToken = try CLI.run(["events", "list", "--admin", server.adminURL], token: "")
        XCTAssertEqual(emptyToken.status, 4)
        XCTAssertTrue(emptyToken.stderr.contains("no admin token to send"), emptyToken.stderr)
        // Another server at the URL (a 404 in plain text): the status in words, its answer and what to check.
        let other = try ScriptedReceiver(replies: [], then: ScriptedReceiver.Reply(status: 404))
        defer { other.stop() }
        let elsewhere = try CLI.run(["events", "list", "--admin", "http://127.0.0.1:\(other.port)"], token: server.adminToken)
        XCTAssertEqual(elsewhere.status, 1)
        XCTAssertTrue(elsewhere.stderr.contains("answered 404 Not Found: scripted answer 404") && elsewhere.stderr.contains("check --admin"), elsewhere.stderr)
        // The public listener answers JSON errors of the admin API's shape, but not the admin API's.
        let publicListener = try CLI.run(["events", "list", "--admin", server.publicURL], token: server.adminToken)
        XCTAssertEqual(publicListener.status, 1)
        XCTAssertTrue(publicListener.stderr.contains("answered 404 Not Found: no webhook is configured at /admin/events")
                      && publicListener.stderr.contains("check --admin"), publicListener.stderr)
        // A 2xx that is not the admin API's JSON (a login portal) is no success either.
        let portal = try ScriptedReceiver(replies: [], then: ScriptedReceiver.Reply(status: 200))
        defer { portal.stop() }
        for words in [["events", "replay", a], ["events", "list"], ["plugins", "list"]] {
            let fooled = try CLI.run(words + ["--admin", "http://127.0.0.1:\(portal.port)"], token: server.adminToken)
            XCTAssertEqual(fooled.status, 1, "\(words): \(fooled.stdout)")
            XCTAssertTrue(fooled.stderr.contains("answered 200 OK: scripted answer 200"), "\(words): \(fooled.stderr)")
        }
        // Nor JSON of another shape (a health endpoint answering everything).
        let health = try ScriptedReceiver(replies: [], then: ScriptedReceiver.Reply(status: 200, headers: [("Content-Type", "application/json")],
                                                                                        body: #"{"status":"ok"}"#))
        defer { health.stop() }
        for words in [["events", "replay", a], ["events", "show", a], ["events", "list"], ["events", "purge", "--before", "2020-01-01T00:00:00Z"], ["plugins", "list"]] {
            let fooled = try CLI.run(words + ["--admin", "http://127.0.0.1:\(health.port)"], token: server.adminToken)
            XCTAssertEqual(fooled.status, 1, "\(words): \(fooled.stdout)")
            XCTAssertTrue(fooled.stderr.contains(#"answered 200 OK: {"status":"ok"}"#), "\(words): \(fooled.stderr)")
        }
        let at = WallClockForTests.rfc3339(Date().addingTimeInterval(3600))
        let scheduled = try CLI.run(["events", "replay", a, "--force", "--at", at, "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(scheduled.status, 0, scheduled.stderr)
        XCTAssertTrue(scheduled.stdout.contains("replay queued for \(a), to run at \(at)"), scheduled.stdout)
        // A stray word is a usage error, not ignored.
        let extra = try CLI.run(["events", "show", a, "extra", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertEqual(extra.status, 2, extra.stdout)
        XCTAssertTrue(extra.stderr.contains("1 unexpected word: the command takes ID besides its options"), extra.stderr)
        XCTAssertEqual(try CLI.run(["plugins", "list", "extra", "--admin", server.adminURL], token: server.adminToken).status, 2)
        let plugins = try CLI.run(["plugins", "list", "--admin", server.adminURL], token: server.adminToken)
        XCTAssertTrue(plugins.stdout.contains("behaviours") && plugins.stdout.contains("active"), plugins.stdout)
    }
}

enum WallClockForTests {
    static func rfc3339(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f.string(from: date)
    }
}
