import LayeronCore
import XCTest

final class RoutingTests: XCTestCase {
    func testMostSpecificPatternWins() {
        let h = { HandlerReference(parsing: $0)! }
        let routes = HandlerRoutes(rules: [(.any, h("p.any")), (.prefix("invoice."), h("p.invoice")),
                                           (.exact("invoice.paid"), h("p.paid")), (.prefix("invoice.payment_"), h("p.payment"))],
                                   fallback: h("p.fallback"))
        XCTAssertEqual(routes.handler(for: "invoice.paid")?.handler, "paid")
        XCTAssertEqual(routes.handler(for: "invoice.payment_failed")?.handler, "payment")
        XCTAssertEqual(routes.handler(for: "invoice.created")?.handler, "invoice")
        XCTAssertEqual(routes.handler(for: "customer.created")?.handler, "any")
        XCTAssertEqual(HandlerRoutes(rules: [], fallback: h("p.fallback")).handler(for: "x")?.handler, "fallback")
        XCTAssertNil(HandlerRoutes(rules: [(.exact("a"), h("p.a"))], fallback: nil).handler(for: "b"))
    }

    func testHostPatternsAndRouter() throws {
        let config = try ConfigLoader.load(text: Array(#"""
            {"webhooks": [
              {"name": "any", "provider": "stripe", "path": "/w", "secret": {"secret": "S"}},
              {"name": "wild", "provider": "stripe", "path": "/w", "host": "*.example.com", "secret": {"secret": "S"}},
              {"name": "exact", "provider": "stripe", "path": "/w", "host": "api.example.com", "secret": {"secret": "S"}},
              {"name": "only", "provider": "stripe", "path": "/only", "host": "shop.test", "secret": {"secret": "S"}}
            ]}
            """#.utf8), file: "t.json")
        let router = WebhookRouter(config.webhooks)
        XCTAssertEqual(router.match(host: "api.example.com", path: "/w"), .webhook(2))
        XCTAssertEqual(router.match(host: "eu.example.com", path: "/w"), .webhook(1))
        XCTAssertEqual(router.match(host: "a.b.example.com", path: "/w"), .webhook(0))
        XCTAssertEqual(router.match(host: "other.org", path: "/w/"), .webhook(0))
        XCTAssertEqual(router.match(host: "other.org", path: "/only"), .noHostMatch)
        XCTAssertEqual(router.match(host: "shop.test", path: "/only"), .webhook(3))
        XCTAssertEqual(router.match(host: "", path: "/missing"), .notFound)
    }

    /// Each spelling of an IPv6 address, on either side, routes to the webhook of that address:
    /// the config's `[0:0::1]` and a request's `::1` (and the other way round) were compared as text.
    func testEverySpellingOfAnIPv6HostMatches() throws {
        let config = try ConfigLoader.load(text: Array(#"""
            {"webhooks": [
              {"name": "loopback", "provider": "stripe", "path": "/w", "host": "[0:0::1]", "secret": {"secret": "S"}},
              {"name": "doc", "provider": "stripe", "path": "/w", "host": "[2001:DB8::0:1]", "secret": {"secret": "S"}}
            ]}
            """#.utf8), file: "t.json")
        let router = WebhookRouter(config.webhooks)
        for host in ["::1", "0:0:0:0:0:0:0:1", "0000::0001"] {
            XCTAssertEqual(router.match(host: IPv6Literal.canonical(host) ?? host, path: "/w"), .webhook(0), host)
        }
        for host in ["2001:db8::1", "2001:0DB8:0:0:0:0:0:1"] {
            XCTAssertEqual(router.match(host: IPv6Literal.canonical(host) ?? host, path: "/w"), .webhook(1), host)
        }
        XCTAssertEqual(router.match(host: "::2", path: "/w"), .noHostMatch)
    }

    func testIPv6LiteralsTakeTheirRFC5952Spelling() {
        XCTAssertEqual(IPv6Literal.canonical("0:0::1"), "::1")
        XCTAssertEqual(IPv6Literal.canonical("2001:DB8:0000:0000:0001:0000:0000:0001"), "2001:db8::1:0:0:1")
        XCTAssertEqual(IPv6Literal.canonical("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1", "one zero group is not shortened")
        XCTAssertEqual(IPv6Literal.canonical("0:0:0:0:0:ffff:c000:0201"), "::ffff:192.0.2.1")
        XCTAssertEqual(IPv6Literal.canonical("::"), "::")
        for bad in ["", "1.2.3.4", "::1%eth0", "1::2::3", "example.com", "[::1]"] {
            XCTAssertNil(IPv6Literal.canonical(bad), bad)
        }
    }

    func testTimeSpans() {
        XCTAssertEqual(TimeSpan(parsing: "30s")?.milliseconds, 30_000)
        XCTAssertEqual(TimeSpan(parsing: "5m")?.milliseconds, 300_000)
        XCTAssertEqual(TimeSpan(parsing: "2h")?.seconds, 7200)
        XCTAssertEqual(TimeSpan(parsing: "7d")?.seconds, 604_800)
        XCTAssertEqual(TimeSpan(parsing: "250ms")?.milliseconds, 250)
        for bad in ["", "s", "5", "-5s", "+5s", "5x", "1.5h", " 5s", "５s", "36501d", "106751991167d", "99999999999999999999ms"] {
            XCTAssertNil(TimeSpan(parsing: bad), bad)
        }
        XCTAssertEqual(TimeSpan(parsing: "36500d"), TimeSpan.longest)
        XCTAssertEqual(TimeSpan(parsing: "7d")?.description, "7d")
    }

    func testEventIDsAreWellFormedUniqueAndSortable() {
        let a = EventID.make(nowMilliseconds: 1_700_000_000_000)
        let b = EventID.make(nowMilliseconds: 1_700_000_000_001)
        XCTAssertTrue(EventID.isWellFormed(a), a)
        XCTAssertLessThan(a, b)
        XCTAssertNotEqual(EventID.make(nowMilliseconds: 5), EventID.make(nowMilliseconds: 5))
        XCTAssertFalse(EventID.isWellFormed("whevt_short"))
    }

    func testRetryScheduleEnds() {
        let policy = RetryPolicy(attempts: 4, initial: .seconds(5), maximum: .seconds(12))
        XCTAssertEqual(policy.delay(afterAttempt: 1, requestedMilliseconds: nil), .seconds(5))
        XCTAssertEqual(policy.delay(afterAttempt: 2, requestedMilliseconds: nil), .seconds(10))
        XCTAssertEqual(policy.delay(afterAttempt: 3, requestedMilliseconds: nil), .seconds(12))
        XCTAssertNil(policy.delay(afterAttempt: 4, requestedMilliseconds: 1))
        XCTAssertEqual(policy.delay(afterAttempt: 1, requestedMilliseconds: 999_999_999), .seconds(12))
    }
}
