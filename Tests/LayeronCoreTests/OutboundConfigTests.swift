import LayeronCore
import XCTest

final class OutboundConfigTests: XCTestCase {
    private func load(_ outbound: String, webhooks: String = "[]") throws(ConfigError) -> ServerConfig {
        try ConfigLoader.load(text: Array(#"{"webhooks": \#(webhooks), "outbound": [\#(outbound)]}"#.utf8), file: "t.json")
    }

    private func issues(_ outbound: String, webhooks: String = "[]") -> [String] {
        do {
            _ = try load(outbound, webhooks: webhooks)
            return []
        } catch {
            return error.description.split(separator: "\n").map(String.init)
        }
    }

    func testFullDestinationParses() throws {
        let config = try load(#"""
            {"name": "partners", "url": "https://partners.example.com/hooks", "secret": {"secret": "PARTNERS_SECRET"},
             "events": ["order.*", "refund.created"], "headers": {"X-Tenant": "acme"}, "timeout": "15s",
             "retry": {"schedule": ["5s", "5m"]}, "rate": "50/s", "concurrency": 20, "allow_private": false,
             "signatures": ["github"]}
            """#)
        let d = try XCTUnwrap(config.outbound.first)
        XCTAssertEqual(d.name, "partners")
        XCTAssertEqual(d.secrets, [SecretReference(name: "PARTNERS_SECRET")])
        XCTAssertTrue(d.subscribes(to: "order.paid"))
        XCTAssertTrue(d.subscribes(to: "refund.created"))
        XCTAssertFalse(d.subscribes(to: "customer.created"))
        XCTAssertEqual(d.headers.map(\.name), ["X-Tenant"])
        XCTAssertEqual(d.schedule, DeliverySchedule(delays: [.seconds(5), .seconds(300)]))
        XCTAssertEqual(d.rate, RateCap(count: 50, per: .seconds(1)))
        XCTAssertEqual(d.concurrency, 20)
        XCTAssertEqual(d.extraSignatures, [.github])
        XCTAssertTrue(config.secretReferences.contains { $0.owner == "outbound partners" && $0.reference.name == "PARTNERS_SECRET" })
        let keyed = try load(#"{"name": "keyed", "url": "https://x", "secret": {"secret": "S"}, "headers": {"Authorization": {"secret": "PARTNER_TOKEN"}}}"#)
        XCTAssertEqual(keyed.outbound.first?.headers.first?.value, .secret(SecretReference(name: "PARTNER_TOKEN")))
        XCTAssertTrue(keyed.secretReferences.contains { $0.owner == "outbound keyed header Authorization" && $0.reference.name == "PARTNER_TOKEN" },
                      "check and development's generated values must know it")
    }

    func testDefaultsFollowTheSvixSchedule() throws {
        let d = try XCTUnwrap(try load(#"{"name": "p", "url": "http://x.test/", "secret": {"secret": "S"}}"#).outbound.first)
        XCTAssertEqual(d.schedule, .standard)
        XCTAssertEqual(d.schedule.delays.map(\.description), ["5s", "5m", "30m", "2h", "5h", "10h", "10h"])
        XCTAssertEqual(d.timeout, .seconds(15))
        XCTAssertNil(d.rate)
        XCTAssertFalse(d.allowPrivate)
        XCTAssertTrue(d.subscribes(to: "anything"))
    }

    func testMistakesNameTheKey() {
        XCTAssertEqual(issues(#"{"name": "p", "url": "ftp://x", "secret": {"secret": "S"}, "rate": "fast", "signatures": ["svix"]}"#), [
            #"t.json: outbound[0].url: "ftp://x" is not an http:// or https:// URL with a host"#,
            #"t.json: outbound[0].rate: invalid rate "fast"; expected a count per second, minute or hour, like "50/s" or "600/m""#,
            #"t.json: outbound[0].signatures[0]: unknown signature scheme "svix"; expected one of: github"#,
        ])
        XCTAssertEqual(issues(#"{"name": "p", "url": "https://x", "secret": "raw", "headers": {"webhook-id": "x"}, "retry": {"schedule": ["soon"]}}"#), [
            #"t.json: outbound[0].secret: secrets are never written in config; use a reference like {"secret": "NAME"} and set its value with `layeron secrets set NAME`"#,
            "t.json: outbound[0].headers.webhook-id: webhook-id is set by the delivery itself and cannot be configured",
            #"t.json: outbound[0].retry.schedule[0]: invalid duration "soon"; expected a number and a unit, like "5s" or "2h""#,
        ])
        XCTAssertEqual(issues(#"{"name": "p", "url": "https://x", "secret": {"secret": "S"}, "retry": {"schedule": ["36501d"]}}"#), [
            #"t.json: outbound[0].retry.schedule[0]: duration "36501d" is longer than the longest accepted, 36500d"#,
        ])
        XCTAssertEqual(issues(#"{"name": "p", "url": "https://x", "secret": {"secret": "S"}, "headers": {"Webhook-Version": "2", "Transfer-Encoding": "chunked", "connection": "close", "X-Webhook-Tenant": "ok"}}"#), [
            "t.json: outbound[0].headers.Webhook-Version: Webhook-Version is set by the delivery itself and cannot be configured",
            "t.json: outbound[0].headers.Transfer-Encoding: Transfer-Encoding is about the connection or the body's framing, which the HTTP client sets; it cannot be configured",
            "t.json: outbound[0].headers.connection: connection is about the connection or the body's framing, which the HTTP client sets; it cannot be configured",
        ])
        // Control characters other than a tab make strict clients refuse the request (RFC 9110 5.5).
        XCTAssertEqual(issues(#"{"name": "p", "url": "https://x", "secret": {"secret": "S"}, "headers": {"X-A": "a\u0001b", "X-B": "a\nb", "X-C": "tab\there"}}"#), [
            "t.json: outbound[0].headers.X-A: the value holds the control character 0x1",
            "t.json: outbound[0].headers.X-B: the value holds a line break or NUL",
        ])
        let withPassword = issues(#"{"name": "p", "url": "https://svc:p4ssw0rd@hooks.example.com/in", "secret": {"secret": "S"}}"#)
        XCTAssertEqual(withPassword, [
            #"t.json: outbound[0].url: credentials in the URL (user:password@host) are not allowed; send them as a header from the secrets store, like "headers": {"Authorization": {"secret": "PARTNER_TOKEN"}}"#,
        ])
        XCTAssertFalse(withPassword.joined().contains("p4ssw0rd"), "the password must not be echoed")
        let p = #"{"name": "p", "url": "https://x", "secret": {"secret": "S"}}"#
        XCTAssertEqual(issues("\(p), \(p)"), [#"t.json: outbound[1].name: duplicate destination name "p" (also outbound[0])"#])
        XCTAssertEqual(issues(p, webhooks: #"[{"name": "p", "provider": "stripe", "secret": {"secret": "S"}}]"#),
                       [#"t.json: outbound[0].name: "p" is already an inbound webhook's name; events of both directions are listed by name, so pick another"#])
        XCTAssertEqual(issues(#"{"name": "p", "url": "https://x", "secret": {"secret": "S"}, "allowPrivate": true}"#).count, 1)
        XCTAssertEqual(issues(#"{"name": "p", "url": "https://x", "secret": {"secret": "S"}, "headers": {"Authorization": {"secret": "bad name"}, "X-N": 5}}"#), [
            #"t.json: outbound[0].headers.Authorization.secret: invalid secret name "bad name"; use letters, digits and _ (like STRIPE_WEBHOOK_SECRET)"#,
            #"t.json: outbound[0].headers.X-N: expected a string, or a secret reference like {"secret": "NAME"} for a credential, found a number"#,
        ])
    }

    /// URLs no attempt can use are refused at load, not failed by every attempt for a day: a NUL cut
    /// the URL short in libcurl and delivered to another path.
    func testURLsNoAttemptCanUseAreRefused() {
        func urlIssue(_ url: String) -> String {
            issues(#"{"name": "p", "url": "\#(url)", "secret": {"secret": "S"}}"#).joined(separator: "\n")
        }
        for url in [#"http://127.0.0.1:18603/a\tb"#, #"http://127.0.0.1:18603/a\nb"#, #"http://127.0.0.1:18603/a\u0000/b"#, #"http://x.test/\u007f"#] {
            XCTAssertTrue(urlIssue(url).hasSuffix("holds a control character (a tab, a line break or NUL); write the URL without it, percent-encoded if the receiver needs one"),
                          urlIssue(url))
        }
        for url in ["http://127.0.0.1:99999/x", "http://127.0.0.1:0/x", "http://x.test:8o/x", "https://[::1]:65536/"] {
            XCTAssertEqual(urlIssue(url), #"t.json: outbound[0].url: "\#(url)" has a port outside 1-65535"#)
        }
        for url in ["http://:18603/x", "http:///x", "https://[]:443/", "https://[::1/"] {
            XCTAssertEqual(urlIssue(url), #"t.json: outbound[0].url: "\#(url)" is not an http:// or https:// URL with a host"#)
        }
        XCTAssertEqual(urlIssue("http://127.0.0.1/x y"), #"t.json: outbound[0].url: "http://127.0.0.1/x y" holds a space; write it percent-encoded, as %20"#)
        for url in ["http://127.0.0.1:65535/x", "https://x.test:1", "https://[::1]:8443/in", "https://[::1]/", "http://x.test:/x?q=a:b"] {
            XCTAssertEqual(urlIssue(url), "", url)
        }
    }
}
