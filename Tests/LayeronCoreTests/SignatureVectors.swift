import Foundation
import LayeronCore
import LayeronCrypto
import XCTest

/// The committed vectors in `Tests/Fixtures/signatures/`, written by `generate.py` and confirmed by the
/// providers' official SDKs where those exist. Tests read only the JSON: no network, no Python.
enum SignatureVectors {
    static var directory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures/signatures")
    }

    static func json(_ name: String) throws -> JSONValue {
        try JSONParser.parse([UInt8](Data(contentsOf: directory.appendingPathComponent(name))))
    }

    /// Bodies over 4 KiB, kept once by SHA-256.
    static let sharedBodies: [String: [UInt8]] = {
        guard case let .object(members)? = try? json("bodies.json") else { return [:] }
        var out: [String: [UInt8]] = [:]
        for (digest, value) in members { out[digest] = Array((value.stringValue ?? "").utf8) }
        return out
    }()

    /// One saved request: `{"method", "url", "headers", "body_base64" | "body_sha256"}`.
    struct Request {
        let url: String
        let inbound: InboundRequest

        init(_ json: JSONValue) throws {
            let url = json["url"]?.stringValue ?? ""
            self.url = url
            var headers: [(name: String, value: String)] = []
            if case let .object(members)? = json["headers"] {
                for (name, value) in members { headers.append((name.lowercased(), value.stringValue ?? "")) }
            }
            let body = try Self.body(json)
            let afterScheme = url.range(of: "://").map { url[$0.upperBound...] } ?? Substring(url)
            let slash = afterScheme.firstIndex(of: "/") ?? afterScheme.endIndex
            let pathAndQuery = afterScheme[slash...]
            let question = pathAndQuery.firstIndex(of: "?")
            inbound = InboundRequest(
                method: json["method"]?.stringValue ?? "POST",
                path: String(question.map { pathAndQuery[..<$0] } ?? pathAndQuery),
                query: question.map { String(pathAndQuery[pathAndQuery.index(after: $0)...]) } ?? "",
                host: String(afterScheme[..<slash]), headers: headers, body: body)
        }

        private static func body(_ json: JSONValue) throws -> [UInt8] {
            if let encoded = json["body_base64"]?.stringValue {
                return try XCTUnwrap(ByteEncoding.base64.decode(Substring(encoded)))
            }
            let digest = try XCTUnwrap(json["body_sha256"]?.stringValue)
            let body = try XCTUnwrap(sharedBodies[digest], "bodies.json has no \(digest)")
            XCTAssertEqual(ByteEncoding.hex.encode(Digest.hash(.sha256, body)), digest)
            return body
        }
    }

    /// `"valid"` or the failure's stable code.
    static func outcome(_ result: Result<VerifiedSignature, VerificationFailure>) -> String {
        switch result {
        case .success: return "valid"
        case let .failure(failure): return failure.code
        }
    }

    static func strings(_ value: JSONValue?) -> [String] {
        guard case let .array(items)? = value else { return [] }
        return items.compactMap(\.stringValue)
    }
}
