import Foundation
import XCTest

/// A second `serve` on a database another one is serving is refused at its start: both would take
/// the same provider retry as a new event (each answers dedupe misses from its own memory) and run
/// its handler twice. The next server starts as soon as the first has stopped, or died.
final class DatabaseLockTests: RunningStripeServerTestCase {

    func testASecondServerOnTheSameDatabaseIsRefusedUntilTheFirstStops() throws {
        let pid = try XCTUnwrap(server.processIdentifier)
        try assertSecondServerRefused(database: server.databasePath, providerID: "evt_lock")

        server.stop()
        try server.start()
        XCTAssertNotEqual(server.processIdentifier, pid)
        server.kill()
        try server.start()
        XCTAssertEqual(try server.postStripe(type: "invoice.paid", providerID: "evt_lock_2", secret: secret).status, 200,
                       "a server that died left no lock behind")
    }

    /// A second `serve` refused for the lock wrote a random development value for a secret it could
    /// not resolve into the store first, and the running server, reading the store, then refused
    /// every correctly signed webhook. The lock is now taken before the store is touched.
    func testARefusedSecondServerLeavesTheRunningServersSecretsAlone() throws {
        let refused = try server.serveAnother(database: server.databasePath, stripeSecret: "", environment: ["LAYERON_ENV": "development"])
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("is in use by another layeron serve"), refused.stderr)
        usleep(1_500_000)
        XCTAssertFalse(server.logs.contains("secrets reloaded"), server.logs)
        XCTAssertEqual(try server.postStripe(type: "invoice.paid", providerID: "evt_after_refusal", secret: secret).status, 200)
    }

    /// SQLite follows a symbolic link to the database; the lock beside the link's own name let a
    /// second server onto the same store, and handlers ran twice.
    func testASecondServerThroughASymbolicLinkToTheDatabaseIsRefused() throws {
        let link = server.directory.appendingPathComponent("alias.db").path
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: server.databasePath)
        let refused = try server.serveAnother(database: link, stripeSecret: secret)
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("is in use by another layeron serve"), refused.stderr)
        XCTAssertFalse(refused.stdout.contains("listening on"), refused.stdout)
    }

    /// A hard link is the same file under a second name that no path resolution leads back to: the
    /// lock beside each name let a second server onto the store, which SQLite then journals in a
    /// second `-wal` of its own. The lock is now on the file itself.
    func testASecondServerThroughAHardLinkToTheDatabaseIsRefused() throws {
        let link = server.directory.appendingPathComponent("other.db").path
        try FileManager.default.linkItem(atPath: server.databasePath, toPath: link)
        try assertSecondServerRefused(database: link, providerID: "evt_hard_link")
    }

    /// A `serve` on `database` stops at its start naming the running server, which serves on.
    private func assertSecondServerRefused(database: String, providerID: String, line: UInt = #line) throws {
        let pid = try XCTUnwrap(server.processIdentifier)
        let refused = try server.serveAnother(database: database, stripeSecret: secret)
        XCTAssertEqual(refused.status, 1, refused.stderr, line: line)
        XCTAssertTrue(refused.stderr.contains("the database \(database) is in use by another layeron serve (pid \(pid))"), refused.stderr, line: line)
        XCTAssertTrue(refused.stderr.contains("give this one its own --database"), refused.stderr, line: line)
        XCTAssertFalse(refused.stdout.contains("listening on"), refused.stdout, line: line)
        XCTAssertEqual(try server.postStripe(type: "invoice.paid", providerID: providerID, secret: secret).status, 200,
                       "the first server serves on", line: line)
    }
}
