import LayeronCore
import XCTest

final class ConfigLoaderTests: XCTestCase {
    private func issues(_ text: String) -> [String] {
        do {
            _ = try ConfigLoader.load(text: Array(text.utf8), file: "test.json")
            return []
        } catch {
            return error.description.split(separator: "\n").map(String.init)
        }
    }

    private func webhooks(_ items: String) -> String { #"{"webhooks": [\#(items)]}"# }
    private let stripe = #"{"name": "stripe", "provider": "stripe", "secret": {"secret": "S"}, "handler": "billing.x"}"#

    func testTheShippedExampleLoads() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/layeron.json")
        let config = try ConfigLoader.load(text: [UInt8](try Data(contentsOf: url)), file: url.path)
        XCTAssertEqual(config.webhooks.map(\.name), ["stripe", "vendor"])
        XCTAssertEqual(config.webhooks[0].routes.handler(for: "invoice.paid")?.description, "billing.mark_invoice_paid")
        XCTAssertNil(config.webhooks[0].routes.handler(for: "customer.created"))
        XCTAssertEqual(config.webhooks[1].dedupe?.ttl, .seconds(7 * 86_400))
        XCTAssertEqual(config.admin.token, SecretReference(name: "LAYERON_ADMIN_TOKEN"))
    }

    func testDefaultPathIsWebhooksName() throws {
        let config = try ConfigLoader.load(text: Array(webhooks(stripe).utf8), file: "t.json")
        XCTAssertEqual(config.webhooks[0].path, "/webhooks/stripe")
        XCTAssertEqual(config.listen.description, "127.0.0.1:8080")
    }

    func testDurabilityDefaultsToNormalAndAcceptsFsync() throws {
        XCTAssertEqual(try ConfigLoader.load(text: Array(webhooks(stripe).utf8), file: "t.json").durability, .normal)
        let fsync = #"{"durability": "fsync", "webhooks": [\#(stripe)]}"#
        XCTAssertEqual(try ConfigLoader.load(text: Array(fsync.utf8), file: "t.json").durability, .fsync)
        XCTAssertEqual(issues(#"{"durability": "full"}"#),
                       [#"test.json: durability: "full" is not a durability; expected "normal" (survives a process crash) or "fsync" (every commit fsynced)"#])
    }

    /// Values that load but could never work are refused where they are written: each passed
    /// `check` and then lost data or never matched.
    func testValuesThatCouldNeverWorkAreRefused() {
        XCTAssertEqual(issues(#"{"admin": {"retention": "0s"}}"#),
                       ["test.json: admin.retention: must be longer than zero: 0s would delete each event at the next pass after it settles (pending events are kept)"])
        XCTAssertEqual(issues(#"{"admin": {"token": [{"secret": "A"}, {"secret": "B"}]}}"#),
                       [#"test.json: admin.token: expected one secret reference like {"secret": "NAME"}, found a list; several admin tokens are entries of admin.tokens, each with a name and a scope"#])
        XCTAssertEqual(issues(#"{"listen": "hooks.internal:8080"}"#),
                       [#"test.json: listen: "hooks.internal" is not an IP address; listen on one, like 127.0.0.1, 0.0.0.0 or ::1 (host names are not resolved)"#])
        XCTAssertEqual(issues(#"{"listen": "[::1]:8080", "admin": {"listen": "0.0.0.0:9090", "token": {"secret": "T"}}}"#), [])
        let hook = #"{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, "#
        XCTAssertEqual(issues(webhooks(hook + #""on": {"checkout*": "b.x", "*.completed": "b.y", "invoice.*": "b.z"}}"#)), [
            #"test.json: webhooks[0].on.checkout*: invalid pattern "checkout*"; a pattern is an exact type, ends in .* (like order.*) or is *"#,
            #"test.json: webhooks[0].on.*.completed: invalid pattern "*.completed"; a pattern is an exact type, ends in .* (like order.*) or is *"#,
        ])
        XCTAssertEqual(issues(webhooks(hook + #""handler": "b.x", "host": "api.example.com:8443"}"#)),
                       [#"test.json: webhooks[0].host: "api.example.com:8443": a request's host is matched without its port; leave the port out (an IPv6 address goes in brackets, like "[::1]")"#])
        XCTAssertEqual(issues(webhooks(hook + #""handler": "b.x", "tolerance": "250ms", "dedupe": {"key": "body.id", "ttl": "0s"}}"#)), [
            "test.json: webhooks[0].tolerance: must be at least 1s: timestamps are whole seconds, so a shorter tolerance would refuse every request",
            "test.json: webhooks[0].dedupe.ttl: must be longer than zero; leave dedupe out to fold no retries",
        ])
        // Values so large they overflowed a time (a crash at start, or at the first request).
        XCTAssertEqual(issues(#"{"limits": {"connectionTimeout": "2h"}}"#),
                       ["test.json: limits.connectionTimeout: must be at most 1h: it is how long an idle or trickling connection is kept"])
        XCTAssertEqual(issues(webhooks(hook + #""handler": "b.x", "dedupe": {"key": "body.id", "ttl": "3651d"}}"#)),
                       ["test.json: webhooks[0].dedupe.ttl: must be at most 3650d (providers retry for days, not decades)"])
        // Every duration is bounded: these passed `check` and crashed `serve` (after-handler's timeout
        // on the first request, a lease at every start while its event was pending, a retry's backoff).
        XCTAssertEqual(issues(webhooks(hook + #""handler": "b.x", "respond": "after-handler", "timeout": "106751991167d", "lease": "99999999999d", "retry": {"initial": "+5s"}}"#)), [
            #"test.json: webhooks[0].retry.initial: invalid duration "+5s"; expected a number and a unit, like "30s", "5m", "2h" or "7d""#,
            #"test.json: webhooks[0].timeout: duration "106751991167d" is longer than the longest accepted, 36500d"#,
            #"test.json: webhooks[0].lease: duration "99999999999d" is longer than the longest accepted, 36500d"#,
        ])
    }

    /// A value quoted back from the file cannot repaint a terminal, and a huge one is cut.
    /// A path or a signature header name longer than a request's head may be could never be
    /// matched: every request that tried would be answered 431.
    func testAPathOrHeaderNameNoRequestHeadCouldHoldIsRefused() {
        let long = "/" + String(repeating: "p", count: 20_000)
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, "handler": "b.x", "path": "\#(long)"}"#)),
                       ["test.json: webhooks[0].path: is too long: a request line with it takes 20015 bytes, and a request's line and headers may take at most 15360 (a longer head is answered 431), so no request could reach it; shorten it"])
        let header = String(repeating: "h", count: 20_000)
        XCTAssertEqual(issues(webhooks(#"{"name": "v", "provider": "custom", "handler": "b.x", "signature": {"header": "\#(header)", "algorithm": "hmac-sha256", "secret": {"secret": "S"}}}"#)),
                       ["test.json: webhooks[0].signature.header: is too long: the header with a request line takes 20019 bytes, and a request's line and headers may take at most 15360 (a longer head is answered 431), so no request could reach it; shorten it"])
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, "handler": "b.x", "path": "/\#(String(repeating: "p", count: 8_000))"}"#)), [])
    }

    func testALogLineListsTwentyNamesAndCountsTheRest() {
        XCTAssertEqual(nameListSummary(["a", "b"]), "a,b")
        let names = (1...2_000).map { "hook\($0)" }
        XCTAssertEqual(nameListSummary(names), (1...20).map { "hook\($0)" }.joined(separator: ",") + ",… and 1980 more")
    }

    func testQuotedValuesAreEscapedAndCut() {
        let escape = issues(#"{"listen": "\u001b[31mred"}"#)
        XCTAssertEqual(escape, [#"test.json: listen: invalid address "\u{1b}[31mred"; expected HOST:PORT with a port from 0 to 65535, like "127.0.0.1:8080""#])
        let huge = issues(#"{"listen": "\#(String(repeating: "9", count: 50_000))"}"#)
        XCTAssertEqual(huge.count, 1)
        XCTAssertLessThan(huge[0].count, 1_200)
        XCTAssertTrue(huge[0].hasSuffix("more characters)"), huge[0])
    }

    /// One mistake, one error: a default standing in for an invalid `initial` is not compared with `max`.
    func testAnInvalidRetryDurationIsReportedOnce() {
        let hook = #"{"name": "stripe", "provider": "stripe", "secret": {"secret": "S"}, "handler": "b.x", "retry": "#
        XCTAssertEqual(issues(webhooks(hook + #"{"initial": "1 s", "max": "2s"}}"#)), [
            #"test.json: webhooks[0].retry.initial: invalid duration "1 s"; expected a number and a unit, like "30s", "5m", "2h" or "7d""#,
        ])
        XCTAssertEqual(issues(webhooks(hook + #"{"initial": "10s", "max": "2s"}}"#)),
                       ["test.json: webhooks[0].retry.max: 2s is shorter than initial (10s)"])
    }

    /// Settings a webhook's scheme never reads are refused where they are written: each loaded,
    /// passed `check` and then did nothing.
    func testSettingsTheSchemeWouldIgnoreAreRefused() throws {
        let github = #"{"name": "gh", "provider": "github", "secret": {"secret": "S"}, "handler": "b.x", "tolerance": "10m"}"#
        XCTAssertEqual(issues(webhooks(github)),
                       [#"test.json: webhooks[0].tolerance: applies only to a signature with a timestamp, and provider "github" signs none; leave it out"#])
        let untimed = #"{"name": "v", "provider": "custom", "handler": "b.x", "tolerance": "10m", "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "secret": {"secret": "S"}}}"#
        XCTAssertEqual(issues(webhooks(untimed)),
                       ["test.json: webhooks[0].tolerance: applies only to a signature with a timestamp, and this signature has none; leave it out"])
        let subSecond = #"{"name": "v", "provider": "custom", "handler": "b.x", "signature": {"header": "x-sig", "algorithm": "hmac-sha256", "secret": {"secret": "S"}, "format": "t={timestamp},v1={signature}", "signedPayload": "{timestamp}.{body}", "timestamp": {"from": "format", "tolerance": "500ms"}}}"#
        XCTAssertEqual(issues(webhooks(subSecond)),
                       ["test.json: webhooks[0].signature.timestamp.tolerance: must be at least 1s: timestamps are whole seconds, so a shorter tolerance would refuse every request"])
        let unordered = #"{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, "handler": "b.x", "ordering": "none", "orderingKey": "body.id"}"#
        XCTAssertEqual(issues(webhooks(unordered)),
                       [#"test.json: webhooks[0].orderingKey: only applies with "ordering": "per-key""#])
        let slack = #"{"name": "sl", "provider": "slack", "secret": {"secret": "S"}, "handler": "b.x", "tolerance": "1500ms", "ordering": "none"}"#
        let config = try ConfigLoader.load(text: Array(webhooks(slack).utf8), file: "t.json")
        XCTAssertEqual(config.webhooks[0].scheme.timestamp?.toleranceSeconds, 1)
        XCTAssertNil(config.webhooks[0].ordering)
    }

    func testDuplicateNamesNameTheKey() {
        XCTAssertEqual(issues(webhooks("\(stripe), \(stripe.replacingOccurrences(of: "\"provider\"", with: "\"path\": \"/other\", \"provider\""))")),
                       [#"test.json: webhooks[1].name: duplicate webhook name "stripe" (also webhooks[0])"#])
    }

    /// Key paths count every entry of the file, also one left out for its own issue.
    func testDuplicatesAreNamedByTheirPlaceInTheFile() {
        let other = stripe.replacingOccurrences(of: "\"provider\"", with: "\"path\": \"/other\", \"provider\"")
        XCTAssertEqual(issues(webhooks(#"{"name": "bad", "provider": "nope", "secret": {"secret": "S"}}, "# + "\(stripe), \(other)")).dropFirst(),
                       [#"test.json: webhooks[2].name: duplicate webhook name "stripe" (also webhooks[1])"#])
    }

    /// The admin mount takes every request under its prefix before webhooks are routed: a webhook
    /// there answered its provider 404 while `check` said ok.
    func testAWebhookUnderTheAdminMountIsRefused() {
        let mount = #""admin": {"mount": {"path": "/webhooks", "token": {"secret": "M"}}}"#
        let under = "test.json: webhooks[0].path: /webhooks/stripe is under admin.mount.path (/webhooks), which takes every request under it for the admin API, so this webhook would never be reached; move one of them"
        XCTAssertEqual(issues(#"{\#(mount), "webhooks": [\#(stripe)]}"#), [under])
        // Only paths below the prefix go to the admin API: the prefix itself still reaches a webhook.
        let atMount = #"{"name": "m", "provider": "stripe", "path": "/webhooks", "secret": {"secret": "S"}}"#
        XCTAssertEqual(issues(#"{\#(mount), "webhooks": [\#(atMount)]}"#), [])
        let beside = #"{"name": "m", "provider": "stripe", "path": "/webhooksx/m", "secret": {"secret": "S"}}"#
        XCTAssertEqual(issues(#"{\#(mount), "webhooks": [\#(beside)]}"#), [])
    }

    func testSameHostAndPathTwiceIsAnError() {
        let a = #"{"name": "a", "provider": "stripe", "path": "/x", "secret": {"secret": "S"}}"#
        let b = #"{"name": "b", "provider": "stripe", "path": "/x", "secret": {"secret": "S"}}"#
        XCTAssertEqual(issues(webhooks("\(a), \(b)")).first?.hasPrefix("test.json: webhooks[1].path: webhooks[0] already serves /x"), true)
        let c = #"{"name": "c", "provider": "stripe", "path": "/x", "host": "a.example.com", "secret": {"secret": "S"}}"#
        XCTAssertEqual(issues(webhooks("\(a), \(c)")), [])
    }

    func testATrailingSlashIsDroppedFromAPathAsFromARequest() throws {
        let slash = #"{"name": "slash", "provider": "stripe", "path": "/hooks/slash/", "secret": {"secret": "S"}}"#
        let root = #"{"name": "root", "provider": "stripe", "path": "/", "secret": {"secret": "S"}}"#
        let config = try ConfigLoader.load(text: Array(webhooks("\(slash), \(root)").utf8), file: "t.json")
        XCTAssertEqual(config.webhooks.map(\.path), ["/hooks/slash", "/"])
        let router = WebhookRouter(config.webhooks)
        XCTAssertEqual(router.match(host: "x", path: "/hooks/slash/"), .webhook(0))
        XCTAssertEqual(router.match(host: "x", path: "/hooks/slash"), .webhook(0))
        XCTAssertEqual(router.match(host: "x", path: "/"), .webhook(1))
        let plain = #"{"name": "plain", "provider": "stripe", "path": "/hooks/slash", "secret": {"secret": "S"}}"#
        XCTAssertEqual(issues(webhooks("\(plain), \(slash)")).first?.hasPrefix("test.json: webhooks[1].path: webhooks[0] already serves /hooks/slash"), true)
    }

    func testAPercentInAPathIsRefused() {
        XCTAssertEqual(issues(webhooks(#"{"name": "p", "provider": "stripe", "path": "/with%20x", "secret": {"secret": "S"}}"#)),
                       [#"test.json: webhooks[0].path: "/with%20x" holds %: a request's path is percent-decoded before it is matched, so this one would need each % sent as %25; write it without percent-escapes"#])
    }

    func testMissingSecretNamesTheKey() {
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe"}"#)),
                       [#"test.json: webhooks[0].secret: is required: a secret reference like {"secret": "NAME"}"#])
    }

    func testLiteralSecretIsRefused() {
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": "whsec_abc"}"#)).first?.hasPrefix("test.json: webhooks[0].secret: secrets are never written in config"), true)
    }

    /// A reference falls back to the environment variable of its name: one that names a variable set
    /// for another use (`HOME`, `LAYERON_MASTER_KEY`) would verify with its value.
    func testAReferenceToAVariableSetForAnotherUseIsRefused() {
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": {"secret": "HOME"}}"#)),
                       [#"test.json: webhooks[0].secret.secret: HOME is a variable the system sets, not a secret: a reference to it would take that variable's value when no secret of that name is set; name the secret for what it holds (like STRIPE_WEBHOOK_SECRET)"#])
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": [{"secret": "S"}, {"secret": "LAYERON_MASTER_KEY"}]}"#)).first?
                           .hasPrefix("test.json: webhooks[0].secret[1].secret: LAYERON_MASTER_KEY is a variable layeron reads for its own settings, not a secret"), true)
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": {"secret": "LD_PRELOAD"}}"#)).count, 1)
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": {"secret": "HOME_WEBHOOK_SECRET"}}"#)), [])
        XCTAssertEqual(issues(#"{"admin": {"token": {"secret": "LAYERON_ADMIN_TOKEN"}}}"#), [])
    }

    func testUnknownProviderListsTheKnownOnes() {
        let found = issues(webhooks(#"{"name": "s", "provider": "stripey", "secret": {"secret": "S"}}"#))
        XCTAssertEqual(found.count, 1)
        XCTAssertTrue(found[0].hasPrefix(#"test.json: webhooks[0].provider: unknown provider "stripey"; expected one of: "#), found[0])
        XCTAssertTrue(found[0].contains("custom"))
    }

    func testBadDurationNamesTheKey() {
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, "dedupe": {"ttl": "7 days"}}"#)),
                       [#"test.json: webhooks[0].dedupe.ttl: invalid duration "7 days"; expected a number and a unit, like "30s", "5m", "2h" or "7d""#])
    }

    func testNamesMustBeSlugs() {
        XCTAssertEqual(issues(webhooks(#"{"name": "Stripe Live", "provider": "stripe", "secret": {"secret": "S"}}"#)).first?.hasPrefix(#"test.json: webhooks[0].name: "Stripe Live" is not a lowercase slug"#), true)
    }

    /// An empty value (a template's unset variable) is refused where it is written: an empty provider
    /// left its webhook out without a word (the provider got 404), and an empty name passed.
    func testEmptyProviderAndNamesAreRefused() {
        let provider = issues(webhooks(#"{"name": "s", "provider": "", "secret": {"secret": "S"}}"#))
        XCTAssertEqual(provider.count, 1)
        XCTAssertTrue(provider.first?.hasPrefix("test.json: webhooks[0].provider: is empty; expected one of: ") == true, "\(provider)")
        let slug = "a lowercase slug (a-z, 0-9 and -, starting with a letter or digit)"
        XCTAssertEqual(issues(webhooks(#"{"name": "", "provider": "stripe", "secret": {"secret": "S"}}"#)),
                       ["test.json: webhooks[0].name: is empty; expected \(slug)"])
        XCTAssertEqual(issues(#"{"admin": {"tokens": [{"name": "", "token": {"secret": "T"}}]}}"#),
                       ["test.json: admin.tokens[0].name: is empty; expected \(slug)"])
        XCTAssertEqual(issues(#"{"outbound": [{"name": "", "url": "https://example.com/hook", "secret": {"secret": "O"}}]}"#),
                       ["test.json: outbound[0].name: is empty; expected \(slug)"])
    }

    /// SQLite opens `""` as a temporary database per connection, deleted at close: events acknowledged
    /// on it were never readable and gone after a restart.
    func testAnEmptyDatabaseIsRefused() {
        XCTAssertEqual(issues(#"{"database": ""}"#),
                       [#"test.json: database: is empty; SQLite would keep the events in a temporary database that is deleted at close; give a file, like "data/layeron.db""#])
    }

    /// `:memory:` is SQLite's in-memory database, one per connection: the admin API answered "no such
    /// table" and a restart lost every event acknowledged.
    func testAnInMemoryDatabaseIsRefused() {
        XCTAssertEqual(issues(#"{"database": ":memory:"}"#),
                       [#"test.json: database: is ":memory:"; SQLite would keep the events in memory, lost at every stop; give a file, like "data/layeron.db""#])
    }

    func testSyntaxErrorsGiveTheLineColumnAndOffset() {
        XCTAssertEqual(issues(#"{"webhooks": [}"#), ["test.json:1:15: invalid JSON at byte 14: unexpected character '}'"])
        // Lines count from 1 after each newline; a column counts characters, so "é" (two bytes) is one.
        XCTAssertEqual(issues("{\n  \"listen\": \"1\",\n  \"database\": \"é\" ,,\n}"),
                       ["test.json:3:20: invalid JSON at byte 39: expected a string key"])
    }

    /// A key given twice was taken from its first place, so an override appended at the end (the
    /// last one wins in Python, JavaScript and jq) was silently ignored.
    func testADuplicateKeyIsRefusedWithTheLineOfTheOther() {
        XCTAssertEqual(issues("{\n  \"workers\": 4,\n  \"workers\": 0\n}").first,
                       "test.json: workers: duplicate key (also at line 2); write each key once, since only one of them would count")
        let hook = #"{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, "name": "t"}"#
        XCTAssertEqual(issues(webhooks(hook)), ["test.json: webhooks[0].name: duplicate key (also at line 1); write each key once, since only one of them would count"])
        XCTAssertEqual(issues(#"{"webhooks": [], "webhooks": []}"#).count, 1)
        XCTAssertEqual(issues(#"{"plugins": {"config": {"a": {"x": 1}, "b": {"x": 1}}}}"#), [])
    }

    /// A byte-order mark (Notepad, PowerShell) is named as one; a control character or any other byte
    /// outside printable ASCII is named by its value, never printed raw into the terminal; a file
    /// that is not an object gets no empty key path.
    func testMessagesAboutTheWholeFileNameWhatIsWrong() {
        XCTAssertEqual(issues("\u{FEFF}{}"), ["test.json:1:1: invalid JSON at byte 0: the file begins with a UTF-8 byte-order mark (bytes EF BB BF), which JSON does not allow; save it as UTF-8 without one"])
        XCTAssertEqual(issues("{\"workers\": \u{1B}[2J}"), ["test.json:1:13: invalid JSON at byte 12: unexpected byte 0x1B"])
        XCTAssertEqual(issues("null"), ["test.json: the config is a JSON object ({ … }); this file holds null"])
    }

    func testUnknownKeysAreReported() {
        XCTAssertEqual(issues(#"{"listen": "127.0.0.1:1", "lisen": "x"}"#).first?.hasPrefix("test.json: lisen: unknown key"), true)
    }

    func testALeaseMustBeLongerThanZero() throws {
        XCTAssertEqual(try ConfigLoader.load(text: Array(webhooks(stripe).utf8), file: "t.json").webhooks[0].lease, .seconds(300))
        let custom = #"{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, "lease": "20m"}"#
        XCTAssertEqual(try ConfigLoader.load(text: Array(webhooks(custom).utf8), file: "t.json").webhooks[0].lease, .seconds(1200))
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, "lease": "0s"}"#)),
                       ["test.json: webhooks[0].lease: must be longer than zero: the longest a handler may run before its event runs again"])
    }

    /// (d) How long a client has to send a whole request: 60 s unless set, from 1 s (the sweeper's
    /// pass) to 1 h, refused with the file and the key otherwise.
    func testARequestTimeoutIsFromOneSecondToOneHour() throws {
        XCTAssertEqual(try ConfigLoader.load(text: Array("{}".utf8), file: "t.json").limits.requestTimeout, .seconds(60))
        let set = try ConfigLoader.load(text: Array(#"{"limits": {"requestTimeout": "90s", "connectionTimeout": "10s"}}"#.utf8), file: "t.json")
        XCTAssertEqual(set.limits.requestTimeout, .seconds(90))
        XCTAssertEqual(set.limits.connectionTimeout, .seconds(10))
        XCTAssertEqual(try ConfigLoader.load(text: Array(#"{"limits": {"requestTimeout": "1h"}}"#.utf8), file: "t.json").limits.requestTimeout, .seconds(3600))
        XCTAssertEqual(issues(#"{"limits": {"requestTimeout": "500ms"}}"#),
                       ["test.json: limits.requestTimeout: must be at least 1s: deadlines are checked once a second, and a shorter one would cut off clients sending at an ordinary pace"])
        XCTAssertEqual(issues(#"{"limits": {"requestTimeout": "61m"}}"#),
                       ["test.json: limits.requestTimeout: must be at most 1h: it is how long a client trickling its request may hold a connection"])
        XCTAssertEqual(issues(#"{"limits": {"requestTimeout": 60}}"#), ["test.json: limits.requestTimeout: expected a string, found a number"])
        XCTAssertEqual(issues(#"{"limits": {"requestTimeout": "1 min"}}"#),
                       [#"test.json: limits.requestTimeout: invalid duration "1 min"; expected a number and a unit, like "30s", "5m", "2h" or "7d""#])
    }

    func testTheAdminTokensNameIsReserved() {
        XCTAssertEqual(issues(#"{"admin": {"tokens": [{"name": "admin", "token": {"secret": "T"}}]}}"#),
                       [#"test.json: admin.tokens[0].name: "admin" is the name of admin.token in logs and messages; give this token another"#])
        XCTAssertEqual(issues(#"{"admin": {"tokens": [{"name": "ro", "token": {"secret": "T"}}, {"name": "ro", "token": {"secret": "U"}}]}}"#),
                       [#"test.json: admin.tokens[1].name: token name "ro" is used twice"#])
    }

    func testNonLoopbackAdminNeedsAToken() {
        XCTAssertEqual(issues(#"{"admin": {"listen": "0.0.0.0:9090"}}"#),
                       ["test.json: admin.token: is required when admin.listen (0.0.0.0:9090) is not a loopback address"])
    }

    /// Two listeners on one address cannot both bind: refused at load (so `check` says so), not
    /// left to `serve`'s bind error.
    func testBothListenersOnOneAddressAreRefused() {
        XCTAssertEqual(issues(#"{"listen": "127.0.0.1:8080", "admin": {"listen": "127.0.0.1:8080"}}"#),
                       ["test.json: admin.listen: 127.0.0.1:8080 takes the public listener's address (listen, 127.0.0.1:8080) too; give the two listeners different ports"])
        XCTAssertEqual(issues(#"{"listen": "0.0.0.0:9090"}"#).count, 1)
        XCTAssertEqual(issues(#"{"listen": "[::1]:9090"}"#), [])
        XCTAssertEqual(issues(#"{"listen": "127.0.0.1:0", "admin": {"listen": "127.0.0.1:0"}}"#), [])
        XCTAssertEqual(issues(#"{"listen": "127.0.0.2:9090"}"#), [])
    }

    func testCustomSchemeProblemsAreFoundAtLoad() {
        let custom = #"{"name": "v", "provider": "custom", "signature": {"header": "x-sig", "algorithm": "hmac-md5", "secret": {"secret": "V"}, "signedPayload": "{timestamp}.{bodyy}"}}"#
        let found = issues(webhooks(custom))
        XCTAssertTrue(found.contains { $0.hasPrefix(#"test.json: webhooks[0].signature.algorithm: unknown algorithm "hmac-md5""#) }, "\(found)")
        XCTAssertTrue(found.contains { $0.hasPrefix("test.json: webhooks[0].signature.signedPayload: unknown placeholder {bodyy}") }, "\(found)")
    }

    func testBadHandlerReference() {
        XCTAssertEqual(issues(webhooks(#"{"name": "s", "provider": "stripe", "secret": {"secret": "S"}, "on": {"invoice.paid": "billing"}}"#)),
                       [#"test.json: webhooks[0].on.invoice.paid: "billing" is not a handler reference; expected PLUGIN.HANDLER like "billing.fulfill_checkout""#])
    }
}
