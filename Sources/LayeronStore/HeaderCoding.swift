import LayeronCore

/// Headers are stored as a JSON array of `[name, value]` pairs, keeping order and repeats.
enum HeaderCoding {
    /// Written straight into the result's own storage, sized first: this runs for every event. The
    /// JSON's UTF-8 bytes, bound as text: built from strings, they are valid UTF-8 already, and a
    /// `String` of them would be checked again byte by byte (about 1% of a request's instructions).
    static func encode(_ headers: [(name: String, value: String)]) -> [UInt8] {
        // `[` and `]`, and per pair `[`, `,`, `]` and the comma before it.
        var capacity = 2
        for header in headers {
            capacity += JSONValue.quotedLength(header.name) + JSONValue.quotedLength(header.value) + 4
        }
        return [UInt8](unsafeUninitializedCapacity: capacity) { out, count in
            var at = 0
            out[at] = UInt8(ascii: "[")
            at += 1
            for (i, header) in headers.enumerated() {
                if i > 0 {
                    out[at] = UInt8(ascii: ",")
                    at += 1
                }
                out[at] = UInt8(ascii: "[")
                at = JSONValue.writeString(header.name, into: out, at: at + 1)
                out[at] = UInt8(ascii: ",")
                at = JSONValue.writeString(header.value, into: out, at: at + 1)
                out[at] = UInt8(ascii: "]")
                at += 1
            }
            out[at] = UInt8(ascii: "]")
            count = at + 1
        }
    }

    static func decode(_ text: String) -> [(name: String, value: String)] {
        guard case let .array(items)? = try? JSONParser.parse(text) else { return [] }
        return items.compactMap { item in
            guard case let .array(pair) = item, pair.count == 2,
                  let name = pair[0].stringValue, let value = pair[1].stringValue else { return nil }
            return (name, value)
        }
    }
}
