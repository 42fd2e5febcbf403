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

    /// One saved request of a vector, its large body looked up in `bodies.json`.
    static func request(_ json: JSONValue?) throws -> SavedRequest {
        try SavedRequest(try XCTUnwrap(json), sharedBodies: sharedBodies)
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
