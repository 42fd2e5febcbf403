import Foundation
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

    /// The document is valid YAML only as written: a plain (unquoted) scalar inside a flow mapping
    /// ends at its first ", ", and what follows becomes a key with no value. Parsers accept that,
    /// so a description cut short and an extra key only show in strict OpenAPI validators and code
    /// generators. Such descriptions must be quoted.
    func testNoFlowMappingEntryLacksAValue() {
        XCTAssertEqual(FlowMappingCheck.entriesWithoutValue("a: { type: integer, description: one, two }\n"), ["two"],
                       "the check must catch the mistake it is for")
        XCTAssertEqual(FlowMappingCheck.entriesWithoutValue("a: { description: \"one, two\", b: the receiver's [x] }\n"), [])
        let text = String(decoding: PackageResources.admin_api_yaml, as: UTF8.self)
        XCTAssertEqual(FlowMappingCheck.entriesWithoutValue(text), [],
                       "quote these descriptions in docs/admin-api.yaml: YAML cuts a plain scalar at \", \" inside { }")
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

/// Finds the entries of YAML flow mappings (`{ key: value, … }`) that have no `key: value` shape,
/// in the block-style document with flow collections that docs/admin-api.yaml is. A flow
/// collection starts a value (after `key: ` or `- `); block scalars (`|`, `>`) are skipped.
enum FlowMappingCheck {
    static func entriesWithoutValue(_ text: String) -> [String] {
        var found: [String] = []
        var blockScalarIndent: Int?
        var pending = ""
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let indent = line.prefix(while: { $0 == " " }).count
            if let block = blockScalarIndent {
                if line.allSatisfy({ $0 == " " }) || indent > block { continue }
                blockScalarIndent = nil
            }
            var flow: Substring
            if !pending.isEmpty {
                flow = Substring(pending + " " + line)
            } else {
                var rest = line.dropFirst(indent)
                if rest.hasPrefix("- ") { rest = rest.dropFirst(2) }
                if let colon = rest.range(of: ": "), !rest.hasPrefix("{"), !rest.hasPrefix("[") {
                    rest = rest[colon.upperBound...].drop(while: { $0 == " " })
                }
                if rest.hasPrefix("|") || rest.hasPrefix(">") { blockScalarIndent = indent }
                guard rest.hasPrefix("{") || rest.hasPrefix("[") else { continue }
                flow = rest
            }
            var scanner = Scanner(Array(flow))
            if scanner.collection(found: &found) {
                pending = ""
            } else {
                pending = String(flow)
            }
        }
        return found
    }

    private struct Scanner {
        let chars: [Character]
        var i = 0
        init(_ chars: [Character]) { self.chars = chars }

        /// Reads the collection at `i`, noting mapping entries without a value; false when the
        /// text ends before the collection does.
        mutating func collection(found: inout [String]) -> Bool {
            let close: Character = chars[i] == "{" ? "}" : "]"
            let isMapping = close == "}"
            i += 1
            var entry = ""
            var hasValue = false
            var atScalarStart = true
            while i < chars.count {
                let c = chars[i]
                if c == " " {
                    if !entry.isEmpty { entry.append(c) }
                    i += 1
                    continue
                }
                if atScalarStart, c == "\"" || c == "'" {
                    guard skipQuoted(c) else { return false }
                    entry += "\"…\""
                    atScalarStart = false
                    continue
                }
                if atScalarStart, c == "{" || c == "[" {
                    guard collection(found: &found) else { return false }
                    entry += "{…}"
                    atScalarStart = false
                    continue
                }
                if c == "," || c == close {
                    let trimmed = entry.trimmingCharacters(in: .whitespaces)
                    if isMapping, !trimmed.isEmpty, !hasValue { found.append(trimmed) }
                    entry = ""
                    hasValue = false
                    atScalarStart = true
                    i += 1
                    if c == close { return true }
                    continue
                }
                if c == ":", i + 1 == chars.count || [" ", ",", close].contains(chars[i + 1]) {
                    hasValue = true
                    atScalarStart = true
                } else {
                    atScalarStart = false
                }
                entry.append(c)
                i += 1
            }
            return false
        }

        /// Skips a quoted scalar: `\` escapes in double quotes, `''` in single ones.
        mutating func skipQuoted(_ quote: Character) -> Bool {
            i += 1
            while i < chars.count {
                if quote == "\"", chars[i] == "\\" {
                    i += 2
                    continue
                }
                if chars[i] == quote {
                    if quote == "'", i + 1 < chars.count, chars[i + 1] == "'" {
                        i += 2
                        continue
                    }
                    i += 1
                    return true
                }
                i += 1
            }
            return false
        }
    }
}
