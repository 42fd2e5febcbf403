import LayeronCore

/// Headers are stored as a JSON array of `[name, value]` pairs, keeping order and repeats.
enum HeaderCoding {
    /// Written directly rather than through `JSONValue`: this runs for every event.
    static func encode(_ headers: [(name: String, value: String)]) -> String {
        var out = "["
        out.reserveCapacity(headers.reduce(2) { $0 + $1.name.utf8.count + $1.value.utf8.count + 8 })
        for (i, header) in headers.enumerated() {
            out += i == 0 ? "[" : ",["
            JSONValue.writeString(header.name, into: &out)
            out += ","
            JSONValue.writeString(header.value, into: &out)
            out += "]"
        }
        out += "]"
        return out
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
