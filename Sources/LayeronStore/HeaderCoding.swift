import LayeronCore

/// Headers are stored as a JSON array of `[name, value]` pairs, keeping order and repeats.
enum HeaderCoding {
    /// Written directly as UTF-8 rather than through `JSONValue` or `String` appends: this runs for
    /// every event.
    static func encode(_ headers: [(name: String, value: String)]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(headers.reduce(2) { $0 + $1.name.utf8.count + $1.value.utf8.count + 8 })
        out.append(UInt8(ascii: "["))
        for (i, header) in headers.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            out.append(UInt8(ascii: "["))
            JSONValue.writeString(header.name, into: &out)
            out.append(UInt8(ascii: ","))
            JSONValue.writeString(header.value, into: &out)
            out.append(UInt8(ascii: "]"))
        }
        out.append(UInt8(ascii: "]"))
        return String(decoding: out, as: UTF8.self)
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
