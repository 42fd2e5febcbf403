import LayeronCrypto

/// `application/x-www-form-urlencoded` bodies and query strings, for the schemes that sign decoded
/// form parameters (Twilio) or carry a digest in the URL (Twilio's `bodySHA256`).
enum FormParameters {
    /// Name/value pairs, `+` and `%XX` decoded. A malformed escape is kept as written: the signature
    /// over it then simply does not match.
    static func parse(_ bytes: some Collection<UInt8>) -> [(name: String, value: String)] {
        var pairs: [(String, String)] = []
        for item in bytes.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let eq = item.firstIndex(of: UInt8(ascii: "="))
            let name = decode(eq.map { item[..<$0] } ?? item[...])
            let value = eq.map { decode(item[item.index(after: $0)...]) } ?? ""
            pairs.append((name, value))
        }
        return pairs
    }

    /// The first value of `name` in the query string of `url`.
    static func queryValue(_ name: String, in url: String) -> String? {
        guard let question = url.firstIndex(of: "?") else { return nil }
        let query = url[url.index(after: question)...].prefix { $0 != "#" }
        return parse(Array(query.utf8)).first(where: { $0.name == name })?.value
    }

    /// Twilio's signed string after the URL: parameter names sorted, each followed by its distinct
    /// values sorted (as the twilio SDK's `RequestValidator.compute_signature`). JSON requests carry
    /// `bodySHA256` in the URL instead and sign the URL alone.
    static func twilioConcatenation(body: [UInt8], url: String) -> [UInt8] {
        if queryValue("bodySHA256", in: url) != nil { return [] }
        var byName: [String: Set<String>] = [:]
        for (name, value) in parse(body) { byName[name, default: []].insert(value) }
        var out: [UInt8] = []
        for name in byName.keys.sorted(by: codeUnitOrder) {
            for value in byName[name, default: []].sorted(by: codeUnitOrder) {
                out += Array(name.utf8)
                out += Array(value.utf8)
            }
        }
        return out
    }

    /// Python sorts strings by code point; Swift's `<` on String compares by Unicode canonical
    /// ordering, which can differ, so compare scalars.
    private static func codeUnitOrder(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars)
    }

    private static func decode(_ bytes: some Collection<UInt8>) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i != bytes.endIndex {
            let c = bytes[i]
            if c == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if c == UInt8(ascii: "%"),
                      let h1 = bytes.index(i, offsetBy: 1, limitedBy: bytes.endIndex), h1 != bytes.endIndex,
                      let h2 = bytes.index(i, offsetBy: 2, limitedBy: bytes.endIndex), h2 != bytes.endIndex,
                      let byte = ByteEncoding.hex.decode(Substring(String(decoding: [bytes[h1], bytes[h2]], as: UTF8.self)))?.first {
                out.append(byte)
                i = h2
            } else {
                out.append(c)
            }
            i = bytes.index(after: i)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
