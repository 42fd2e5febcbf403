import Foundation
import LayeronCore
import LayeronHTTP
import LayeronServer

/// Talks to a running server's admin API for the `events` and `plugins` commands.
/// Exit codes scripts can rely on: 0 ok, 1 the server refused (404, 409, …), 2 usage,
/// 3 the server is unreachable, 4 the token is missing or wrong.
struct AdminClient {
    enum Failure: Error {
        case unreachable(String)
        /// 401; `sent` says whether a token went with the request at all.
        case unauthorized(sent: Bool)
        case refused(status: Int, message: String)
        /// An answer that is not the admin API's: an error without its `AdminAnswerMark` (an empty
        /// or HTML page, or the public listener's JSON error), or a success without its JSON, as from
        /// the public listener, another server or a proxy at the URL. `excerpt` is the error's
        /// message, else the start of its body, if any.
        case notTheAdminAPI(status: Int, excerpt: String, url: String)

        var exitCode: Int32 {
            switch self {
            case .unreachable: return 3
            case .unauthorized: return 4
            case .refused, .notTheAdminAPI: return 1
            }
        }

        var message: String {
            switch self {
            case let .unreachable(reason):
                return "cannot reach the admin API: \(reason) (is `layeron serve` running? its address comes from --admin, then LAYERON_ADMIN_URL, then the config's admin.listen)"
            case .unauthorized(sent: true): return "the admin API refused the token: set LAYERON_ADMIN_TOKEN to the server's admin token, or run on the server's machine with its config (--config) so the token is read from its secrets store"
            case .unauthorized(sent: false): return "no admin token to send: set LAYERON_ADMIN_TOKEN to the server's admin token, or run on the server's machine with its config (--config) so the token is read from its secrets store"
            case let .refused(status, message): return "the server answered \(status): \(message)"
            case let .notTheAdminAPI(status, excerpt, url):
                return "the server at \(url) answered \(status) \(HTTPStatus.reasonPhrase(status))"
                    + (excerpt.isEmpty ? " with an empty body" : ": \(excerpt)")
                    + "; that is not the admin API's answer (its answers are JSON and its errors carry a \(AdminAnswerMark.name) header), so this may be "
                    + "the public listener, another server or a proxy: check --admin, LAYERON_ADMIN_URL or the config's admin.listen"
            }
        }
    }

    let baseURL: String
    let token: String?

    /// The URL is `--admin`, then LAYERON_ADMIN_URL, then the config's `admin.listen`. The token is
    /// LAYERON_ADMIN_TOKEN when set (the contract's variable: it wins wherever the URL came from);
    /// otherwise it is the config's `admin.token` reference resolved the way `serve` resolves it (the
    /// store for the current environment, then the environment variable), so on a development
    /// machine nothing needs to be exported.
    init(_ args: Arguments) throws(UsageError) {
        let path = ProcessEnvironment.configPath(args)
        let loaded = Result { () throws(ConfigError) in try loadConfig(path: path) }
        let config = try? loaded.get()
        let database = try ProcessEnvironment.databaseFlag(args)
        let environment = try ProcessEnvironment.environmentName(args)
        let configured = {
            config.flatMap {
                ProcessEnvironment.secretResolver(environment: environment, database: database ?? $0.database)
                    .resolve($0.admin.token ?? SecretReference(name: "LAYERON_ADMIN_TOKEN"))?.text
            }
        }
        // An empty LAYERON_ADMIN_TOKEN (`LAYERON_ADMIN_TOKEN= layeron …`) is no token, not a wrong
        // one, and an empty LAYERON_ADMIN_URL is no URL: the config's admin.listen is used.
        let exported = ProcessEnvironment.variable("LAYERON_ADMIN_TOKEN")
        let exportedURL = ProcessEnvironment.variable("LAYERON_ADMIN_URL")
        let chosen: String?
        if let url = args.value("admin") ?? exportedURL {
            baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
            chosen = exported ?? configured()
        } else if let config {
            baseURL = "http://\(Self.reachable(config.admin.listen))"
            chosen = exported ?? configured()
        } else {
            baseURL = "http://127.0.0.1:9090"
            chosen = exported
        }
        token = chosen?.isEmpty == false ? chosen : nil
        if case let .failure(error) = loaded, args.value("admin") == nil, exportedURL == nil,
           FileManager.default.fileExists(atPath: path) {
            // Said before the request: whatever answers at the default address (or nothing), the
            // operator learns it is not the config's.
            FileHandle.standardError.write(Data("layeron: warning: \(path) did not load, so the default admin address \(baseURL) is used: \(error)\n".utf8))
        }
    }

    /// A listener on every address is reached on loopback.
    private static func reachable(_ address: ListenAddress) -> ListenAddress {
        switch address.host {
        case "0.0.0.0": return ListenAddress(host: "127.0.0.1", port: address.port)
        case "::": return ListenAddress(host: "::1", port: address.port)
        default: return address
        }
    }

    /// `member` names what every success of the route holds (`events`, `event`, …): another server
    /// answering 2xx JSON of its own (`{"status":"ok"}`) is not taken for the admin API.
    func get(_ path: String, expecting member: String) throws(Failure) -> JSONValue { try send("GET", path, expecting: member) }
    func post(_ path: String, expecting member: String) throws(Failure) -> JSONValue { try send("POST", path, expecting: member) }

    private func send(_ method: String, _ path: String, expecting member: String) throws(Failure) -> JSONValue {
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let token { headers.append(("Authorization", "Bearer \(token)")) }
        let response: (status: Int, headers: [(name: String, value: String)], body: [UInt8])
        do {
            response = try HTTPClient.request(method: method, url: baseURL + path, headers: headers,
                                              body: method == "POST" ? [] : nil, timeoutSeconds: 30)
        } catch {
            throw .unreachable(error.description)
        }
        let parsed = try? JSONParser.parse(response.body)
        let json = parsed ?? .null
        if response.status == 401 { throw .unauthorized(sent: token != nil) }
        func notTheAdminAPI() -> Failure {
            let text = json["error"]?.stringValue ?? String(decoding: response.body.prefix(200), as: UTF8.self)
            let firstLine = text.split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
            return .notTheAdminAPI(status: response.status, excerpt: TerminalText.escaped(firstLine.trimmingCharacters(in: .whitespaces), newline: "\\n"),
                                   url: baseURL)
        }
        guard (200..<300).contains(response.status) else {
            // The public listener's errors are JSON of the same shape: only the mark tells them apart.
            let marked = response.headers.contains { $0.name.lowercased() == AdminAnswerMark.name.lowercased() && $0.value == AdminAnswerMark.value }
            guard marked, let message = json["error"]?.stringValue else { throw notTheAdminAPI() }
            throw .refused(status: response.status, message: message)
        }
        // Every success of the admin API is a JSON object: a 2xx page of anything else (a login
        // portal, a proxy's) was printed as "replay queued" or an empty list, and exited 0.
        guard case .object = parsed, json[member] != nil else { throw notTheAdminAPI() }
        return json
    }
}

/// Percent-encodes a query value.
func queryEscape(_ text: String) -> String {
    var allowed = CharacterSet.alphanumerics
    allowed.insert(charactersIn: "-._~*")
    return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
}

/// Prints rows under a header with columns padded to the widest cell.
func printTable(_ header: [String], _ rows: [[String]]) {
    // Cells hold what providers and plugins sent (types, keys, error texts): one line each, no
    // terminal control.
    let rows = rows.map { $0.map { TerminalText.escaped($0, newline: "\\n") } }
    var widths = header.map(\.count)
    for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
    func line(_ cells: [String]) -> String {
        cells.enumerated().map { i, cell in
            i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
        }.joined(separator: "  ")
    }
    print(line(header))
    for row in rows { print(line(row)) }
}
