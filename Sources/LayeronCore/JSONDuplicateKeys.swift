/// A key written twice in one object. A parsed object keeps both members and a lookup finds the
/// first, so in a config an override appended at the end (as Python, JavaScript and jq would take
/// it) was silently ignored. Only the config loader looks for these: webhook bodies are parsed as
/// they are, with no cost added.
struct JSONDuplicateKey {
    /// Where the second one is, as config issues name keys (`webhooks[0].name`).
    let keyPath: String
    /// Byte offset of the first one's opening quote.
    let firstOffset: Int
}

extension JSONParser {
    /// Every key of `data` that its object already had, in document order; nothing for text that
    /// is not JSON (the parse reports that).
    static func duplicateKeys(in data: [UInt8]) -> [JSONDuplicateKey] {
        var found: [JSONDuplicateKey] = []
        _ = try? document(data) { (parser) throws(JSONSyntaxError) in
            try parser.findDuplicateKeys(at: "", into: &found)
            return .null
        }
        return found
    }

    private mutating func findDuplicateKeys(at path: String, into found: inout [JSONDuplicateKey]) throws(JSONSyntaxError) {
        guard index < bytes.count else { throw error("unexpected end of input") }
        switch bytes[index] {
        case UInt8(ascii: "{"):
            var seen: [String: Int] = [:]
            try walkObject { (parser, key) throws(JSONSyntaxError) in
                let name = parser.string(key)
                let keyPath = path.isEmpty ? name : "\(path).\(name)"
                if let first = seen[name] {
                    found.append(JSONDuplicateKey(keyPath: keyPath, firstOffset: first))
                } else {
                    seen[name] = key.start - 1
                }
                try parser.findDuplicateKeys(at: keyPath, into: &found)
            }
        case UInt8(ascii: "["):
            var i = 0
            try walkArray { (parser) throws(JSONSyntaxError) in
                try parser.findDuplicateKeys(at: "\(path)[\(i)]", into: &found)
                i += 1
            }
        default:
            try skipValue()
        }
    }
}
