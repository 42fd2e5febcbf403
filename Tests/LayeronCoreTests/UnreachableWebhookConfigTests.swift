import LayeronCore
import XCTest

/// A path, host or field no request can match was accepted, and its webhook answered 404 or read
/// nothing; each is refused at load with what to write.
final class UnreachableWebhookConfigTests: XCTestCase {
    private func issues(_ keys: String) -> [String] {
        let text = #"{"webhooks": [{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, \#(keys)}]}"#
        do {
            _ = try ConfigLoader.load(text: Array(text.utf8), file: "t.json")
            return []
        } catch {
            return error.description.split(separator: "\n").map(String.init)
        }
    }

    private func webhook(_ keys: String) throws -> WebhookConfig {
        let text = #"{"webhooks": [{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, \#(keys)}]}"#
        return try XCTUnwrap(try ConfigLoader.load(text: Array(text.utf8), file: "t.json").webhooks.first)
    }

    func testPathsWithEmptyOrDotSegmentsAreRefused() throws {
        for (path, instead) in [("/x//", "/x"), ("/a/../b", "/b"), ("/p5/./z", "/p5/z"), ("//a", "/a"), ("/a/..", "/")] {
            XCTAssertEqual(issues(#""path": "\#(path)""#),
                           [#"t.json: webhooks[0].path: "\#(path)" holds an empty, . or .. segment, which no request's path keeps (clients remove them); write "\#(instead)""#])
        }
        for path in ["/x/", "/a.b/..c/.d", "/"] {
            XCTAssertEqual(issues(#""path": "\#(path)""#), [], path)
        }
    }

    func testHostsNoRequestCarriesAreRefused() throws {
        XCTAssertEqual(issues(#""host": "a.com.""#), [#"t.json: webhooks[0].host: "a.com." ends with a dot, which a request's host never has; leave it out, like "a.com""#])
        // An IPv6 address with a final dot, or under a wildcard, was told to leave out a port it does not have.
        XCTAssertEqual(issues(#""host": "[::1].""#), [#"t.json: webhooks[0].host: "[::1]." ends with a dot, which a request's host never has; leave it out, like "[::1]""#])
        XCTAssertEqual(issues(#""host": "*.[::1]""#),
                       [#"t.json: webhooks[0].host: "*.[::1]": a wildcard stands for one label of a name, and an IP address has none; match the address itself, or a name like "*.example.com""#])
        XCTAssertEqual(issues(#""host": "bücher.de""#),
                       [#"t.json: webhooks[0].host: "bücher.de" is not ASCII: requests carry an international name in its punycode form; write that (xn--…, as `idn2` prints it)"#])
        for bad in ["a b.com", "a..com", "*.", "*.a*.com", "a/b"] {
            XCTAssertEqual(issues(#""host": "\#(bad)""#),
                           [#"t.json: webhooks[0].host: "\#(bad)" is not a host name, *.domain pattern or [IPv6] address; a name is letters, digits, - and _ in labels joined by dots"#], bad)
        }
        for bad in ["[zz::1]", "[1:2]", "[1::2::3]", "[fe80::1%eth0]", "[10.0.0.1]"] {
            XCTAssertEqual(issues(#""host": "\#(bad)""#),
                           [#"t.json: webhooks[0].host: "\#(bad)" is not an IPv6 address in brackets, like "[2001:db8::1]" (without a zone such as %eth0, which no request's host carries)"#], bad)
        }
        XCTAssertEqual(issues(#""host": "::1""#),
                       [#"t.json: webhooks[0].host: "::1" is an IPv6 address: write it in brackets, "[::1]", as a request's Host carries it"#])
        XCTAssertEqual(issues(#""host": "example.com:443""#),
                       [#"t.json: webhooks[0].host: "example.com:443": a request's host is matched without its port; leave the port out (an IPv6 address goes in brackets, like "[::1]")"#])
        let v6 = try webhook(#""host": "[::1]""#)
        XCTAssertEqual(v6.host, .exact("::1"))
        XCTAssertTrue(v6.host?.matches("::1") ?? false)
        XCTAssertEqual(try webhook(#""host": "Hooks.Example.com""#).host, .exact("hooks.example.com"))
        XCTAssertEqual(try webhook(#""host": "*.example.com""#).host, .wildcard(suffix: ".example.com"))
        XCTAssertEqual(try webhook(#""host": "10.0.0.1""#).host, .exact("10.0.0.1"))
    }

    /// An IPv6 `host` is kept in its RFC 5952 spelling, which a request's Host is given too
    /// (`InboundPipeline.hostWithoutPort`): `[0:0::1]` and `[::1]` name one address.
    func testAnIPv6HostIsKeptInItsOneSpelling() throws {
        for (written, kept) in [("[0:0::1]", "::1"), ("[0000:0000:0000:0000:0000:0000:0000:0001]", "::1"), ("[2001:DB8:0:0:1:0:0:1]", "2001:db8::1:0:0:1"),
                                ("[2001:db8:0:1:1:1:1:1]", "2001:db8:0:1:1:1:1:1"), ("[::FFFF:192.0.2.1]", "::ffff:192.0.2.1"), ("[::1]", "::1")] {
            XCTAssertEqual(try webhook(#""host": "\#(written)""#).host, .exact(kept), written)
        }
        XCTAssertEqual(try webhook(#""host": "[0:0::1]""#).host?.description, "[::1]")
    }

    func testFieldsNamingNoHeaderAreRefused() {
        let expected = #"is not a field; expected body.<path> or header.<name>, a header name being letters, digits and !#$%&'*+-.^_`|~"#
        XCTAssertEqual(issues(#""event": {"type": "header.x:id"}"#), [#"t.json: webhooks[0].event.type: "header.x:id" "# + expected])
        XCTAssertEqual(issues(#""dedupe": {"key": "header.x:id"}"#),
                       [#"t.json: webhooks[0].dedupe.key: "header.x:id" is not a dedupe key; expected body.<path>, header.<name> or a template like "{header.x-id}:{body.id}""#])
        XCTAssertEqual(issues(#""dedupe": {"key": "{header.x(id)}:{body.id}"}"#).count, 1)
        XCTAssertEqual(issues(#""event": {"type": "header.X-Event_Type"}"#), [])
    }
}
