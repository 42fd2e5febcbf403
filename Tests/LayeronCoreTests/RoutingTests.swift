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
