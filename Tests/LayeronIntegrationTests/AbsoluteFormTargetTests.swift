import Foundation
import XCTest

/// A request target in absolute-form (`POST http://example.com/webhooks/stripe`), which proxies and
/// some clients send and a server must accept (RFC 9112 3.2.2), is routed as its path would be on
/// both listeners, its query kept; it was answered 404 as a path no route served.
final class AbsoluteFormTargetTests: RunningStripeServerTestCase {

    func testAWebhookSentInAbsoluteFormIsTaken() throws {
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        let body = #"{"id":"evt_absolute","type":"invoice.paid","data":{"object":{}}}"#
        let answer = try RawConnection.exchange(port: port,
            "POST http://example.com/webhooks/stripe HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n"
                + "Stripe-Signature: \(Signing.stripeHeader(body: Array(body.utf8), secret: secret))\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), answer)
    }

    func testTheAdminAPIInAbsoluteFormKeepsTheQuery() throws {
        for providerID in ["evt_absolute_1", "evt_absolute_2"] {
            XCTAssertEqual(try server.postStripe(type: "invoice.paid", providerID: providerID, secret: secret).status, 200)
        }
        let port = try XCTUnwrap(URL(string: server.adminURL)?.port)
        let answer = try RawConnection.exchange(port: port,
            "GET HTTPS://Admin.Example:8443/admin/events?limit=1 HTTP/1.1\r\nHost: admin.example\r\n"
                + "Authorization: Bearer \(server.adminToken)\r\nConnection: close\r\n\r\n")
        XCTAssertTrue(answer.hasPrefix("HTTP/1.1 200"), answer)
        XCTAssertTrue(answer.contains("evt_absolute_2"), answer)
        XCTAssertFalse(answer.contains("evt_absolute_1"), "limit=1 was kept: \(answer)")
    }

    /// Only the absolute-form changed: `*` and the authority-form (CONNECT's) still find no route.
    func testOtherFormsStillFindNoRoute() throws {
        let port = try XCTUnwrap(URL(string: server.publicURL)?.port)
        for target in ["*", "example.com:443"] {
            let answer = try RawConnection.exchange(port: port, "OPTIONS \(target) HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            XCTAssertTrue(answer.hasPrefix("HTTP/1.1 404"), answer)
        }
    }

    /// The target's host decides, not the `Host` header, which an origin server must ignore then
    /// (RFC 9112 3.2.2): a webhook served for one host is reached through a target naming it, and not
    /// through one naming another host with its name in `Host`.
    func testTheTargetsHostRoutesInsteadOfTheHostHeader() throws {
        let hosted = try HostedWebhook(host: "a.example.com")
        defer { hosted.server.stop() }
        let named = try hosted.send(target: "http://user@a.example.com:8080/h", host: "b.example.com")
        XCTAssertTrue(named.hasPrefix("HTTP/1.1 200"), named)
        let other = try hosted.send(target: "http://b.example.com/h", host: "a.example.com")
        XCTAssertTrue(other.hasPrefix("HTTP/1.1 404"), other)
    }

    /// An IPv6 host matches in any spelling, in the `Host` header as in an absolute-form target:
    /// the config's `[0:0::1]` and a request's `[::1]` were compared as text, and answered 404.
    func testAnIPv6HostMatchesInAnySpelling() throws {
        let hosted = try HostedWebhook(host: "[0:0::1]")
        defer { hosted.server.stop() }
        for (target, host) in [("/h", "[::1]:8080"), ("/h", "[0000:0000:0000:0000:0000:0000:0000:0001]"),
                               ("http://[0::1]:8080/h", "example.com"), ("/h", "[::2]")] {
            let answer = try hosted.send(target: target, host: host)
            XCTAssertTrue(answer.hasPrefix(host == "[::2]" ? "HTTP/1.1 404" : "HTTP/1.1 200"), "\(target) Host: \(host): \(answer)")
        }
    }
}

/// A running server with one custom webhook at `/h` served for `host` only.
private struct HostedWebhook {
    let server: TestServer
    private let secret = "vendor_hosted"
    private let port: Int

    init(host: String) throws {
        server = try TestServer(environment: ["VENDOR_WEBHOOK_SECRET": secret])
        try server.writeConfig(#"""
            { "plugins": { "dir": "\#(server.pluginsDir)" }, "webhooks": [
              { "name": "vendor", "provider": "custom", "path": "/h", "host": "\#(host)",
                "signature": { "header": "x-vendor-signature", "algorithm": "hmac-sha256", "encoding": "hex",
                               "secret": { "secret": "VENDOR_WEBHOOK_SECRET" } } } ] }
            """#)
        try server.start()
        port = try XCTUnwrap(URL(string: server.publicURL)?.port)
    }

    /// The answer to a signed POST of a new event to `target` with `Host: host`.
    func send(target: String, host: String) throws -> String {
        let body = #"{"id":"\#(UUID().uuidString)","type":"thing"}"#
        return try RawConnection.exchange(port: port,
            "POST \(target) HTTP/1.1\r\nHost: \(host)\r\nConnection: close\r\n"
                + "X-Vendor-Signature: \(Signing.hmacHex(body: Array(body.utf8), secret: secret))\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)")
    }
}
