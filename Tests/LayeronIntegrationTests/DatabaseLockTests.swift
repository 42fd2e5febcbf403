import Foundation
import XCTest

/// A second `serve` on a database another one is serving is refused at its start: both would take
/// the same provider retry as a new event (each answers dedupe misses from its own memory) and run
/// its handler twice. The next server starts as soon as the first has stopped, or died.
final class DatabaseLockTests: RunningStripeServerTestCase {

    func testASecondServerOnTheSameDatabaseIsRefusedUntilTheFirstStops() throws {
        let pid = try XCTUnwrap(server.processIdentifier)
        let refused = try server.serveAnother(database: server.databasePath, stripeSecret: secret)
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains("the database \(server.databasePath) is in use by another layeron serve (pid \(pid))"), refused.stderr)
        XCTAssertTrue(refused.stderr.contains("give this one its own --database"), refused.stderr)
        XCTAssertFalse(refused.stdout.contains("listening on"), refused.stdout)
        XCTAssertEqual(try server.postStripe(type: "invoice.paid", providerID: "evt_lock", secret: secret).status, 200,
                       "the first server serves on")

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
}
