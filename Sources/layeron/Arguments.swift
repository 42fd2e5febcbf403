/// A usage mistake on the command line; the CLI prints it with the command's usage and exits 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ message: String) { description = message }
}

/// Flags (`--name value`, `--name=value`, or bare `--switch`) and positional words of one command.
struct Arguments {
    private(set) var positional: [String] = []
    private var values: [String: String] = [:]
    private var switches: Set<String> = []
    /// A last flag with no value after it: reported by `only`, which knows whether the command has
    /// such a flag at all (`--bogus` is an unknown option, not one that needs a value).
    private var lastFlagWithoutValue: String?

    /// `switchNames` are the flags that take no value.
    init(_ words: [String], switchNames: Set<String> = []) {
        var i = 0
        while i < words.count {
            let word = words[i]
            if word.hasPrefix("--") {
                let body = String(word.dropFirst(2))
                if let eq = body.firstIndex(of: "=") {
                    values[String(body[..<eq])] = String(body[body.index(after: eq)...])
                } else if switchNames.contains(body) {
                    switches.insert(body)
                } else {
                    if i + 1 < words.count {
                        values[body] = words[i + 1]
                        i += 1
                    } else {
                        lastFlagWithoutValue = body
                    }
                }
            } else {
                positional.append(word)
            }
            i += 1
        }
    }

    func value(_ name: String) -> String? { values[name] }
    func has(_ name: String) -> Bool { switches.contains(name) }

    /// Refuses flags the command does not know, and positional words past `words` (the ones it takes,
    /// by name), so a typo or a stray word is not silently ignored. A stray word is not echoed: it may
    /// be a secret typed on the command line.
    func only(_ known: Set<String>, words: [String]) throws(UsageError) {
        for name in Set(values.keys).union(switches).union(lastFlagWithoutValue.map { [$0] } ?? []) where !known.contains(name) {
            throw UsageError("unknown option --\(name)")
        }
        if let name = lastFlagWithoutValue { throw UsageError("--\(name) needs a value") }
        let extra = positional.count - words.count
        if extra > 0 {
            let takes = words.isEmpty ? "no words" : words.joined(separator: " ")
            throw UsageError("\(extra) unexpected word\(extra == 1 ? "" : "s"): the command takes \(takes) besides its options")
        }
    }
}
