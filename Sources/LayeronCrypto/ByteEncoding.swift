import Foundation

/// Text encodings of binary signatures and keys.
public enum ByteEncoding: String, Sendable, CaseIterable {
    case hex, base64, base64url

    public func encode(_ bytes: [UInt8]) -> String {
        switch self {
        case .hex:
            let digits = Array("0123456789abcdef".utf8)
            var out = [UInt8]()
            out.reserveCapacity(bytes.count * 2)
            for b in bytes {
                out.append(digits[Int(b >> 4)])
                out.append(digits[Int(b & 0x0f)])
            }
            return String(decoding: out, as: UTF8.self)
        case .base64:
            return Data(bytes).base64EncodedString()
        case .base64url:
            return Data(bytes).base64EncodedString()
                .replacingOccurrences(of: "+", with: "-")
                .replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
    }

    /// The bytes `text` encodes, or nil when it is not valid in this encoding.
    public func decode(_ text: Substring) -> [UInt8]? {
        var text = text
        return text.withUTF8 { decode(utf8: $0) }
    }

    /// The bytes the UTF-8 text `utf8` encodes, or nil when it is not valid in this encoding: for
    /// callers that hold the text as bytes already (signature headers, parsed on bytes).
    public func decode(utf8: UnsafeBufferPointer<UInt8>) -> [UInt8]? {
        switch self {
        case .hex:
            guard utf8.count % 2 == 0 else { return nil }
            // Written in place: every request's signature is decoded, and appending byte by byte
            // checked the capacity each time (0.5% of the machine under load).
            var valid = true
            let out = [UInt8](unsafeUninitializedCapacity: utf8.count / 2) { buffer, initialized in
                for k in 0..<buffer.count {
                    let hi = Self.nibble(utf8[2 * k]), lo = Self.nibble(utf8[2 * k + 1])
                    guard hi | lo < 0x10 else {
                        valid = false
                        break
                    }
                    buffer[k] = hi << 4 | lo
                    initialized = k + 1
                }
            }
            return valid ? out : nil
        case .base64:
            // Go's RawStdEncoding and others leave the padding out, as base64url senders nearly all do;
            // it is put back only when none is there, so a cut padding (`ab=`) is still refused.
            var s = String(decoding: utf8, as: UTF8.self)
            if utf8.count % 4 != 0, !utf8.contains(UInt8(ascii: "=")) {
                s.append(String(repeating: "=", count: 4 - utf8.count % 4))
            }
            return Data(base64Encoded: s).map { [UInt8]($0) }
        case .base64url:
            var s = String(decoding: utf8, as: UTF8.self).replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
            while s.utf8.count % 4 != 0 { s.append("=") }
            return Data(base64Encoded: s).map { [UInt8]($0) }
        }
    }

    /// A hex digit's value, or 0xFF for any other byte (so that `hi | lo` of two nibbles is below
    /// 0x10 exactly when both are digits).
    @inline(__always)
    private static func nibble(_ c: UInt8) -> UInt8 {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return 0xFF
        }
    }
}
