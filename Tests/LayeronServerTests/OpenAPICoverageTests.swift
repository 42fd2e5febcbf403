@testable import LayeronServer
import XCTest

/// Every admin route the server dispatches must be described in docs/admin-api.yaml (the document
/// the server itself serves at /admin/openapi.yaml).
final class OpenAPICoverageTests: XCTestCase {
    /// Path → methods, read from the spec's `paths:` block (two-space path keys, four-space methods).
    private func documentedOperations() -> [String: Set<String>] {
        let text = String(decoding: PackageResources.admin_api_yaml, as: UTF8.self)
        var out: [String: Set<String>] = [:]
        var inPaths = false
        var current: String?
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            if line == "paths:" { inPaths = true; continue }
            guard inPaths else { continue }
            if line.hasPrefix("  "), !line.hasPrefix("   "), line.hasSuffix(":") {
                current = String(line.dropFirst(2).dropLast())
            } else if let path = current, line.hasPrefix("    "), !line.hasPrefix("     "), line.hasSuffix(":") {
                out[path, default: []].insert(String(line.dropFirst(4).dropLast()).uppercased())
            }
        }
        return out
    }

    func testEveryRouteIsDocumented() {
        let documented = documentedOperations()
        XCTAssertFalse(documented.isEmpty)
        for route in AdminRoute.all {
            XCTAssertTrue(documented[route.path]?.contains(route.method) == true,
                          "\(route.method) \(route.path) is served but not described in docs/admin-api.yaml")
        }
    }

    func testEveryDocumentedOperationIsServed() {
        for (path, methods) in documentedOperations() {
            for method in methods {
                XCTAssertTrue(AdminRoute.all.contains { $0.path == path && $0.method == method },
                              "docs/admin-api.yaml describes \(method) \(path), which the server does not serve")
            }
        }
    }

    func testLiteralRoutesWinOverParameters() {
        guard case let .found(route, _) = AdminRoute.resolve(method: "POST", path: "/admin/events/replay", mounted: false) else {
            return XCTFail("bulk replay not found")
        }
        XCTAssertEqual(route.path, "/admin/events/replay")
        guard case let .found(one, params) = AdminRoute.resolve(method: "POST", path: "/admin/events/whevt_X/replay", mounted: true) else {
            return XCTFail("replay not found")
        }
        XCTAssertEqual(one.path, "/admin/events/{id}/replay")
        XCTAssertEqual(params["id"], "whevt_X")
        guard case let .wrongMethod(allowed) = AdminRoute.resolve(method: "DELETE", path: "/admin/events", mounted: false) else { return XCTFail() }
        XCTAssertEqual(allowed, ["GET", "HEAD"], "HEAD is served wherever GET is, so Allow says so")
        guard case let .wrongMethod(postOnly) = AdminRoute.resolve(method: "GET", path: "/admin/events/replay", mounted: false) else { return XCTFail() }
        XCTAssertEqual(postOnly, ["POST"])
        guard case .notFound = AdminRoute.resolve(method: "GET", path: "/admin/plugins", mounted: true) else {
            return XCTFail("plugins must not be mountable")
        }
    }
}
