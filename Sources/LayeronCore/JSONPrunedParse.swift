extension JSONParser {
    /// Parses `data` as strictly as `parse`, but builds only the members on `paths` (each a list of
    /// object keys from the root, like `["data", "object", "id"]`); everything else is checked and
    /// skipped without allocating. The result is the document pruned to those members, so a webhook
    /// body yields its id, type and dedupe key without a tree of the whole event. As in
    /// `JSONValue.subscript`, the first of repeated keys is the one kept. More than 64 paths are
    /// not pruned: the whole document is built, which answers the same lookups.
    public static func parse(_ data: [UInt8], keepingPaths paths: [[String]]) throws(JSONSyntaxError) -> JSONValue {
        var builtLoneSurrogate = false
        return try parse(data, keepingPaths: paths, builtLoneSurrogate: &builtLoneSurrogate)
    }

    /// As `parse(_:keepingPaths:)`, and sets `builtLoneSurrogate` when a string it built holds U+FFFD
    /// for an escaped surrogate without its other half: `"evt_\ud83d"` and `"evt_\ud83e"` then read
    /// the same, so a caller that must tell values apart (a dedupe key) can refuse them.
    public static func parse(_ data: [UInt8], keepingPaths paths: [[String]],
                             builtLoneSurrogate: inout Bool) throws(JSONSyntaxError) -> JSONValue {
        let selection = JSONPathSelection(paths)
        var sawLoneSurrogate = false
        let value = try document(data) { (parser) throws(JSONSyntaxError) in
            defer { sawLoneSurrogate = parser.builtLoneSurrogate }
            guard let selection else { return try parser.parseValue() }
            if selection.anyEnds(selection.all, atLevel: 0) { return try parser.parseValue() }
            return try parser.parsePruned(selection, paths: selection.all, level: 0) ?? .null
        }
        builtLoneSurrogate = sawLoneSurrogate
        return value
    }

    /// Builds the object at the cursor pruned to `paths` (a set of the selection's paths whose
    /// first `level` keys led here); nil when there are none or the value is not an object, which is
    /// then skipped.
    private mutating func parsePruned(_ selection: JSONPathSelection, paths: UInt64, level: Int) throws(JSONSyntaxError) -> JSONValue? {
        guard paths != 0, index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
            try skipValue()
            return nil
        }
        var members: [(String, JSONValue)] = []
        var taken: UInt64 = 0
        try walkObject { (parser, key) throws(JSONSyntaxError) in
            let matched = parser.withKeyBytes(key) { selection.matching(paths & ~taken, level: level, key: $0) }
            guard matched != 0 else {
                try parser.skipValue()
                return
            }
            taken |= matched
            let value = selection.anyEnds(matched, atLevel: level + 1)
                ? try parser.parseValue()
                : try parser.parsePruned(selection, paths: matched, level: level + 1)
            if let value { members.append((parser.string(key), value)) }
        }
        return .object(members)
    }
}

/// The key paths a pruned parse builds. A set of paths is a bit mask over them, hence at most 64.
/// Each key in the document is compared where it lies with the path's key bytes; keys compare as
/// `String ==` does (canonical equivalence): bytes decide for ASCII, strings beyond it.
struct JSONPathSelection {
    private let paths: [[String]]
    /// Whether a path has a key beyond ASCII, which then compares as a string.
    private let hasNonASCIIKey: Bool

    init?(_ paths: [[String]]) {
        guard paths.count <= 64 else { return nil }
        self.paths = paths
        hasNonASCIIKey = paths.contains { $0.contains { $0.utf8.contains { $0 >= 0x80 } } }
    }

    var all: UInt64 { paths.count == 64 ? ~0 : (1 << UInt64(paths.count)) - 1 }

    /// The paths in `paths` whose key at `level` is `key`.
    func matching(_ set: UInt64, level: Int, key: UnsafeBufferPointer<UInt8>) -> UInt64 {
        var result: UInt64 = 0
        var rest = set
        while rest != 0 {
            let path = rest.trailingZeroBitCount
            rest &= rest - 1
            guard paths[path].count > level else { continue }
            let component = paths[path][level]
            let equal = Self.sameBytes(component, key)
                || (hasNonASCIIKey || key.contains { $0 >= 0x80 }) && component == String(decoding: key, as: UTF8.self)
            if equal { result |= 1 << UInt64(path) }
        }
        return result
    }

    private static func sameBytes(_ component: String, _ key: UnsafeBufferPointer<UInt8>) -> Bool {
        guard component.utf8.count == key.count else { return false }
        return component.utf8.withContiguousStorageIfAvailable { $0.elementsEqual(key) } ?? component.utf8.elementsEqual(key)
    }

    /// Whether one of `paths` ends after `level` keys: its whole value is then kept.
    func anyEnds(_ set: UInt64, atLevel level: Int) -> Bool {
        var rest = set
        while rest != 0 {
            let path = rest.trailingZeroBitCount
            rest &= rest - 1
            if paths[path].count == level { return true }
        }
        return false
    }
}
