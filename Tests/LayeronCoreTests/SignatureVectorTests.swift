import Foundation
import LayeronCore
import LayeronCrypto
import XCTest

/// Every built-in provider against its committed vectors, and custom schemes loaded from config.
final class SignatureVectorTests: XCTestCase {
    func testEveryPresetHasVectorsAndEveryVectorFileAPreset() throws {
        let files = try FileManager.default.contentsOfDirectory(atPath: SignatureVectors.directory.path)
            .filter { $0.hasSuffix(".json") && $0 != "bodies.json" && $0 != "custom.json" }
            .map { String($0.dropLast(5)) }
        XCTAssertEqual(Set(files), Set(ProviderPreset.list.map(\.name)))
        XCTAssertGreaterThanOrEqual(ProviderPreset.list.count, 30)
        XCTAssertEqual(ProviderPreset.list.count, ProviderPreset.all.count, "two presets share a name")
    }

    func testProviderVectors() throws {
        var checked = 0
        for preset in ProviderPreset.list {
            let file = try SignatureVectors.json("\(preset.name).json")
            guard case let .array(cases)? = file["cases"] else { return XCTFail("\(preset.name): no cases") }
            var names: Set<String> = []
            for entry in cases {
                let name = entry["name"]?.stringValue ?? "?"
                names.insert(name)
                let request = try SignatureVectors.request(entry["request"])
                let secrets = SignatureVectors.strings(entry["secrets"]).map(SecretValue.init)
                let now = Int64(try XCTUnwrap(entry["now"]?.scalarText).flatMap(Int64.init) ?? 0)
                let result = preset.scheme(nil).verify(request.inbound(url: request.url), url: request.url, secrets: secrets, now: now)
                XCTAssertEqual(SignatureVectors.outcome(result), entry["expect"]?.stringValue,
                               "\(preset.name)/\(name) (confirmed by \(entry["confirmed_by"]?.stringValue ?? "?"))")
                checked += 1
            }
            // The minimum the issue asks of every provider.
            for required in ["valid", "tampered_body", "wrong_secret", "rotation_second_secret_verifies",
                             "missing_header", "garbage_header", "non_ascii_body", "body_256_kib"] {
                XCTAssertTrue(names.contains(required), "\(preset.name) has no \(required) vector")
            }
            if preset.baseScheme.timestamp != nil {
                XCTAssertTrue(names.contains("stale_timestamp") && names.contains("future_timestamp"),
                              "\(preset.name) is timed but has no stale/future vectors")
            }
        }
        XCTAssertGreaterThan(checked, 400)
    }

    func testCustomSchemesFromConfig() throws {
        let file = try SignatureVectors.json("custom.json")
        guard case let .array(schemes)? = file["schemes"], !schemes.isEmpty else { return XCTFail("no schemes") }
        var checkedSchemes = 0
        var checkedCases = 0
        for scheme in schemes {
            let name = scheme["name"]?.stringValue ?? "?"
            let signature = try XCTUnwrap(scheme["signature"]).serialized()
            let text = #"{"webhooks": [{"name": "vendor", "provider": "custom", "signature": \#(signature)}]}"#
            let config: ServerConfig
            do { config = try ConfigLoader.load(text: Array(text.utf8), file: "custom.json") } catch {
                XCTFail("\(name): \(error)")
                continue
            }
            let webhook = try XCTUnwrap(config.webhooks.first)
            let secrets = SignatureVectors.strings(scheme["secrets"]).map(SecretValue.init)
            guard case let .array(cases)? = scheme["cases"], !cases.isEmpty else {
                XCTFail("\(name): no cases, so nothing checks the scheme")
                continue
            }
            checkedSchemes += 1
            for entry in cases {
                checkedCases += 1
                let request = try SignatureVectors.request(entry["request"])
                let now = Int64(entry["now"]?.scalarText ?? "") ?? 0
                let result = webhook.scheme.verify(request.inbound(url: request.url), url: request.url, secrets: secrets, now: now)
                XCTAssertEqual(SignatureVectors.outcome(result), entry["expect"]?.stringValue, "\(name)/\(entry["name"]?.stringValue ?? "?")")
            }
        }
        XCTAssertEqual(checkedSchemes, schemes.count, "every scheme in custom.json was checked (\(checkedCases) cases)")
    }
}
