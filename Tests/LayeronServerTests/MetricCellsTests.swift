@testable import LayeronServer
import LayeronStore
import XCTest

final class MetricCellsTests: XCTestCase {
    func testCellsCountIntoTheExposition() {
        let metrics = Metrics()
        let crm = metrics.webhook(named: "crm")
        crm.countRequest(status: 200)
        crm.countRequest(status: 200)
        crm.countRequest(status: 401)
        crm.countRejection(reason: "mismatch")
        crm.countDuplicate()
        let plugin = metrics.plugin(named: "billing")
        plugin.countAttempt(outcome: .ok, seconds: 0.002)
        plugin.countAttempt(outcome: .retry, seconds: 0.2)
        metrics.commit.observe(seconds: 0.003)
        metrics.endToEnd.observe(seconds: 0.004)

        let text = metrics.render(gauges: [])
        for line in [#"layeron_requests_total{webhook="crm",code="200"} 2"#,
                     #"layeron_requests_total{webhook="crm",code="401"} 1"#,
                     #"layeron_signature_rejections_total{webhook="crm",reason="mismatch"} 1"#,
                     #"layeron_duplicates_total{webhook="crm"} 1"#,
                     #"layeron_handler_attempts_total{plugin="billing",outcome="ok"} 1"#,
                     #"layeron_handler_attempts_total{plugin="billing",outcome="retry"} 1"#,
                     #"layeron_handler_duration_seconds_bucket{plugin="billing",le="0.0025"} 1"#,
                     #"layeron_handler_duration_seconds_count{plugin="billing"} 2"#,
                     #"layeron_store_append_seconds_bucket{le="0.005"} 1"#,
                     "layeron_event_end_to_end_seconds_count 1"] {
            XCTAssertTrue(text.contains(line + "\n"), "missing \(line) in\n\(text)")
        }
        XCTAssertFalse(text.contains(#"outcome="error""#), "an outcome never seen has no series")
        let totals = metrics.webhookCounters()["crm"]
        XCTAssertEqual(totals?.requests, 3)
        XCTAssertEqual(totals?.accepted, 2)
        XCTAssertEqual(totals?.rejections, 1)
        XCTAssertEqual(totals?.duplicates, 1)
    }

    /// A reload builds new `InboundWebhook`s; their counters must be the same cells, or a reload
    /// would reset what `/metrics` reports as counters.
    func testAWebhookKeepsItsCellAcrossLookups() {
        let metrics = Metrics()
        let first = metrics.webhook(named: "crm")
        first.countRequest(status: 200)
        XCTAssertTrue(metrics.webhook(named: "crm") === first)
        XCTAssertFalse(metrics.webhook(named: "other") === first)
        XCTAssertTrue(metrics.plugin(named: "billing") === metrics.plugin(named: "billing"))
        XCTAssertEqual(metrics.webhookCounters()["crm"]?.requests, 1)
    }
}
