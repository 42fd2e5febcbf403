import Foundation
import LayeronCore
import LayeronServer
import LayeronStore

/// `layeron secrets set|rotate|rm|list|get`: the encrypted store beside the database. Values come in
/// on standard input, never as arguments (other users on the machine can read a process's argv),
/// and only `get` ever writes one out: the one the server would use, from the store or else from the
/// environment variable of the same name. Exit 0 ok, 1 the store refused, 2 usage.
enum SecretsCommand {
    static let usage = """
        layeron secrets set NAME [--env ENV] [--config FILE] [--database FILE]              < value
          layeron secrets rotate NAME --grace 24h [--env ENV] [--config FILE] [--database FILE] < new value
          layeron secrets rm NAME [--env ENV] [--config FILE] [--database FILE]
          layeron secrets list [--env ENV] [--json] [--config FILE] [--database FILE]
          layeron secrets get NAME [--env ENV] [--config FILE] [--database FILE]   # writes the value to stdout (the store's, else $NAME's)
          layeron secrets rekey [--env ENV] [--config FILE] [--database FILE]      < new master key
        """

    /// The longest value accepted: far above any provider's signing secret or token.
    static let maxValueBytes = 64 * 1024

    static func run(_ words: [String]) throws(UsageError) -> Int32 {
        guard let sub = words.first else { throw UsageError("secrets needs set, rotate, rm, list, get or rekey") }
        let args = Arguments(Array(words.dropFirst()), switchNames: ["json"])
        let environment = try ProcessEnvironment.environmentName(args)
        let common: Set<String> = ["env", "config", "database"]
        do {
            switch sub {
            case "set":
                let name = try self.name(args, sub)
                try args.only(common, words: ["NAME"])
                let value = try readValue(for: name)
                let version = try openStore(args, environment).set(name, environment: environment, value: value, now: WallClock.nowMilliseconds())
                print("set \(name) for environment \(environment) (version \(version)); a running server uses it within a second")
            case "rotate":
                let name = try self.name(args, sub)
                try args.only(common.union(["grace"]), words: ["NAME"])
                guard let text = args.value("grace") else {
                    throw UsageError("secrets rotate needs --grace DURATION (like 24h): how long the old value keeps verifying")
                }
                if case .failure(.tooLong) = TimeSpan.parse(text) {
                    throw UsageError("--grace: " + TimeSpan.tooLongMessage(TerminalText.escaped(String(text.prefix(40)), newline: "\\n")))
                }
                guard let grace = TimeSpan(parsing: text) else {
                    throw UsageError("--grace \"\(TerminalText.escaped(String(text.prefix(40)), newline: "\\n"))\" is not a duration; write whole digits and one unit, like 24h, 30m or 0s")
                }
                let value = try readValue(for: name)
                let result = try openStore(args, environment).rotate(name, environment: environment, value: value, grace: grace,
                                                                     now: WallClock.nowMilliseconds())
                // Admin tokens are compared with one value (docs/secrets.md): a grace keeps no old token.
                let config = try? loadConfig(path: ProcessEnvironment.configPath(args))
                let adminTokens = (config?.admin.listenerTokens.map(\.secret.name) ?? []) + (config?.admin.mount.map { [$0.token.secret.name] } ?? [])
                if adminTokens.contains(name) {
                    print("rotated \(name) for environment \(environment): version \(result.version) is primary; it is an admin token, which has no grace: the previous value stops working at the server's next look (within a second)")
                } else {
                    print("rotated \(name) for environment \(environment): version \(result.version) is primary; the previous value verifies until \(WallClock.rfc3339(milliseconds: result.graceEndsAt))")
                }
            case "rm":
                let name = try self.name(args, sub)
                try args.only(common, words: ["NAME"])
                do {
                    guard let store = try existingStore(args, environment) else { throw SecretStoreError.notFound(name: name, environment: environment) }
                    try store.remove(name, environment: environment, now: WallClock.nowMilliseconds())
                } catch SecretStoreError.notFound {
                    // Not the store's advice to set it: this was a removal.
                    throw SecretStoreError.nothingToRemove(name: name, environment: environment)
                }
                print("removed \(name) from environment \(environment)")
            case "list":
                try args.only(common.union(["json"]), words: [])
                let database = try ProcessEnvironment.databasePath(args)
                guard let store = try SecretsSetup.openExistingStore(database: database, environment: environment, variables: ProcessEnvironment.variables)?.store else {
                    // An empty table alone would not tell a store with nothing set from a mistyped --database.
                    FileHandle.standardError.write(Data("layeron secrets list: there is no secrets store at \(SecretStore.path(besideDatabase: database)) yet\n".utf8))
                    printListings([], json: args.has("json"))
                    return 0
                }
                let listings = try store.list(now: WallClock.nowMilliseconds())
                printListings(listings.filter { args.value("env") == nil || $0.environment == environment }, json: args.has("json"))
            case "get":
                let name = try self.name(args, sub)
                try args.only(common, words: ["NAME"])
                var bytes: [UInt8]
                if let value = try existingStore(args, environment)?.values(name, environment: environment, now: WallClock.nowMilliseconds()).first {
                    bytes = value.bytes
                } else if let variable = ProcessEnvironment.variables[name] {
                    // The server's order, the store and then the variable: the development banner's
                    // `curl` reads the secret this way and must sign with the value the server checks.
                    FileHandle.standardError.write(Data("layeron secrets get: \(name) is not in the store for environment \(environment); wrote the environment variable \(name), which the server falls back to\n".utf8))
                    bytes = Array(variable.utf8)
                } else {
                    throw SecretStoreError.notFound(name: name, environment: environment)
                }
                if isatty(STDOUT_FILENO) == 1 { bytes.append(UInt8(ascii: "\n")) }
                FileHandle.standardOutput.write(Data(bytes))
            case "rekey":
                guard args.positional.isEmpty else {
                    throw UsageError("secrets rekey takes no NAME; the new master key is read from standard input, never from the command line")
                }
                try args.only(common, words: [])
                try rekey(args, environment)
            default:
                throw UsageError("unknown secrets command \(sub); expected set, rotate, rm, list, get or rekey")
            }
        } catch let error as SecretStoreError {
            FileHandle.standardError.write(Data("layeron secrets \(sub): \(error)\n".utf8))
            return 1
        } catch let error as UsageError {
            throw error
        } catch {
            FileHandle.standardError.write(Data("layeron secrets \(sub): \(error)\n".utf8))
            return 1
        }
        return 0
    }

    /// The one positional word. A second one is refused without echoing it: it is most likely a value
    /// typed on the command line, which is exactly what must not be printed or kept.
    private static func name(_ args: Arguments, _ sub: String) throws(UsageError) -> String {
        guard let name = args.positional.first else { throw UsageError("secrets \(sub) needs a NAME") }
        guard args.positional.count == 1 else {
            throw UsageError("secrets \(sub) takes only NAME; the value is read from standard input, never from the command line (other users can see arguments)")
        }
        guard SecretReference.isValidName(name) else {
            throw UsageError("that secret name is not valid; use letters, digits and _ (like STRIPE_WEBHOOK_SECRET)")
        }
        return name
    }

    private static func openStore(_ args: Arguments, _ environment: String) throws -> SecretStore {
        try SecretsSetup.openStore(database: try ProcessEnvironment.databasePath(args), environment: environment, variables: ProcessEnvironment.variables).store
    }

    private static func existingStore(_ args: Arguments, _ environment: String) throws -> SecretStore? {
        try SecretsSetup.openExistingStore(database: try ProcessEnvironment.databasePath(args), environment: environment, variables: ProcessEnvironment.variables)?.store
    }

    /// Reseals the whole store (every environment's values) under the master key on standard input.
    /// The development key file, which layeron made, is replaced as well: the new key is written
    /// beside it first, the store resealed, then the file renamed into place. A key from
    /// `LAYERON_MASTER_KEY` or `LAYERON_MASTER_KEY_FILE` is the operator's to change.
    private static func rekey(_ args: Arguments, _ environment: String) throws {
        let database = try ProcessEnvironment.databasePath(args)
        guard let (store, source) = try SecretsSetup.openExistingStore(database: database, environment: environment,
                                                                      variables: ProcessEnvironment.variables) else {
            throw UsageError("there is no secrets store beside \(database) yet; nothing to rekey")
        }
        let input = try readInput(prompt: "new master key",
                                  missing: "no key on standard input; keep the new key in a file first (openssl rand -hex 32 > new.key), then: layeron secrets rekey < new.key")
        let newKey = try MasterKey.parse(String(decoding: input, as: UTF8.self), source: "standard input")
        let developmentFile = SecretStore.keyFile(besideDatabase: database)
        let replacesDevelopmentFile = environment == SecretsSetup.development && source == .file(developmentFile)
        let pending = replacesDevelopmentFile ? try newKey.pendingFile(replacing: developmentFile) : nil
        let count: Int
        do {
            count = try store.rekey(to: newKey, now: WallClock.nowMilliseconds())
        } catch {
            pending?.discard()
            throw error
        }
        try pending?.install()
        print("resealed \(count) value\(count == 1 ? "" : "s") in \(store.path) under the new master key")
        if replacesDevelopmentFile {
            print("the development key file \(developmentFile) now holds the new key")
        } else {
            print("set \(source) to the new key before the next `layeron` command; a running server keeps the values it has and refuses reloads until it is restarted with the new key")
        }
    }

    /// Standard input up to its end, without one trailing `\n` or `\r\n` (what `echo` and editors add). On a
    /// terminal it prompts on standard error and switches echo off, so the value is not shown.
    private static func readValue(for name: String) throws(UsageError) -> SecretValue {
        SecretValue(bytes: try readInput(prompt: "value for \(name)",
                                         missing: "no value on standard input; pipe it in, like: printf '%s' \"$VALUE\" | layeron secrets set \(name)"))
    }

    /// Standard input as `readValue` reads it; `missing` is the error when it is empty.
    private static func readInput(prompt: String, missing: String) throws(UsageError) -> [UInt8] {
        var bytes: [UInt8]
        if isatty(STDIN_FILENO) == 1 {
            FileHandle.standardError.write(Data("\(prompt) (not shown): ".utf8))
            bytes = TerminalInput.readLineWithoutEcho()
            FileHandle.standardError.write(Data("\n".utf8))
        } else {
            bytes = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
            // One line ending, `\n` or `\r\n`; a `\r` without its `\n` is the value's own byte (raw key bytes may end in one).
            if bytes.last == UInt8(ascii: "\n") {
                bytes.removeLast()
                if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            }
        }
        guard !bytes.isEmpty else { throw UsageError(missing) }
        guard bytes.count <= maxValueBytes else { throw UsageError("the value is longer than \(maxValueBytes) bytes") }
        return bytes
    }

    private static func printListings(_ listings: [SecretListing], json: Bool) {
        if json {
            print(JSONValue.object([("secrets", .array(listings.map { l in
                .object([("name", .string(l.name)), ("environment", .string(l.environment)), ("version", .int(Int64(l.version))),
                         ("values", .int(Int64(l.liveValues))), ("updated_at", .string(WallClock.rfc3339(milliseconds: l.updatedAt))),
                         ("grace_ends_at", l.graceEndsAt.map { .string(WallClock.rfc3339(milliseconds: $0)) } ?? .null)])
            }))]).serialized())
            return
        }
        printTable(["NAME", "ENVIRONMENT", "VERSION", "VALUES", "UPDATED", "GRACE UNTIL"], listings.map { l in
            [l.name, l.environment, String(l.version), String(l.liveValues), WallClock.rfc3339(milliseconds: l.updatedAt),
             l.graceEndsAt.map { WallClock.rfc3339(milliseconds: $0) } ?? "-"]
        })
    }
}

/// Reads one line from the terminal with echo off, restoring the terminal's settings afterwards.
enum TerminalInput {
    static func readLineWithoutEcho() -> [UInt8] {
        var saved = termios()
        let haveSettings = tcgetattr(STDIN_FILENO, &saved) == 0
        if haveSettings {
            var quiet = saved
            quiet.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet)
        }
        defer { if haveSettings { tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved) } }
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(STDIN_FILENO, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        return line
    }
}
