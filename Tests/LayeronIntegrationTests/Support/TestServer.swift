import Foundation
import LayeronCore
import LayeronHTTP
import XCTest

/// The real `layeron` binary, started on port 0 with a config, database and plugins folder in a
/// fresh temporary directory. The addresses come from the `listening on` lines it prints.
final class TestServer: @unchecked Sendable {
    let directory: URL
    let configPath: String
    let databasePath: String
    let pluginsDir: String
    private(set) var publicURL = ""
    private(set) var adminURL = ""
    let adminToken = "test-admin-token"
    private var process: Process?
    /// Guards `logCaptures` and `outputCaptures`.
    private let logLock = NSLock()
    /// Standard error of each start, in order.
    private var logCaptures: [PipeCapture] = []
    var environment: [String: String]
    /// Variables dropped from the inherited environment, so a test sees no stray secrets.
    var removedVariables: Set<String> = []
    /// False to start without LAYERON_ADMIN_TOKEN, as `make run` on a fresh machine does.
    var setsAdminToken = true
    /// `--admin-listen`; nil to use the config's `admin.listen`.
    var adminListen: String? = "127.0.0.1:0"
    /// Standard output of each start, in order.
    private var outputCaptures: [PipeCapture] = []
    /// True to close the reading end of the server's standard error as soon as it starts, as when
    /// the program its log is piped to stops: `logs` then holds nothing.
    var closesLogReader = false
    /// True to leave the server's standard error unread after it starts, as when the program its
    /// log is piped to stalls, until `readStalledLog()`.
    var stallsLogReader = false
    /// The unread end of standard error while `stallsLogReader` holds it.
    private var stalledLog: FileHandle?

    /// `config` receives this server's directory, plugins folder and database path.
    init(environment: [String: String] = [:]) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("layeron-it-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        pluginsDir = directory.appendingPathComponent("plugins").path
        try FileManager.default.createDirectory(atPath: pluginsDir, withIntermediateDirectories: true)
        configPath = directory.appendingPathComponent("layeron.json").path
        databasePath = directory.appendingPathComponent("data/layeron.db").path
        self.environment = environment
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    func writeConfig(_ text: String) throws {
        try text.write(toFile: configPath, atomically: true, encoding: .utf8)
    }

    /// Starts `layeron serve` and waits for both listening lines.
    func start(extraArguments: [String] = [], timeout: TimeInterval = 20) throws {
        publicURL = ""
        adminURL = ""
        let process = Process()
        process.executableURL = URL(fileURLWithPath: TestServer.binaryPath)
        process.arguments = ["serve", "--config", configPath, "--listen", "127.0.0.1:0"] + (adminListen.map { ["--admin-listen", $0] } ?? [])
            + ["--database", databasePath, "--log-format", "json", "--log-level", "debug"] + extraArguments
        var env = ChildEnvironment.inherited(removing: removedVariables)
        if setsAdminToken { env["LAYERON_ADMIN_TOKEN"] = adminToken }
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.currentDirectoryURL = directory
        let stdout = Pipe()
        process.standardOutput = stdout
        // A fresh pipe per start: Process closes the parent's copy of the write end, so one cannot be reused.
        let stderr = Pipe()
        process.standardError = stderr
        try process.run()
        self.process = process
        if closesLogReader {
            try stderr.fileHandleForReading.close()
        } else if stallsLogReader {
            stalledLog = stderr.fileHandleForReading
        } else {
            let errors = PipeCapture(stderr.fileHandleForReading)
            logLock.lock()
            logCaptures.append(errors)
            logLock.unlock()
        }

        var buffer = ""
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline, publicURL.isEmpty || adminURL.isEmpty {
            let chunk = stdout.fileHandleForReading.availableData
            if chunk.isEmpty {
                if !process.isRunning { break }
                continue
            }
            buffer += String(decoding: chunk, as: UTF8.self)
            for line in buffer.split(separator: "\n") {
                if line.hasPrefix("listening on ") { publicURL = "http://" + line.dropFirst("listening on ".count) }
                if line.hasPrefix("admin listening on ") { adminURL = "http://" + line.dropFirst("admin listening on ".count) }
            }
        }
        let output = PipeCapture(stdout.fileHandleForReading, initial: Data(buffer.utf8))
        logLock.lock()
        outputCaptures.append(output)
        logLock.unlock()
        guard !publicURL.isEmpty, !adminURL.isEmpty else {
            if !process.isRunning {
                // Its last lines are in the pipe until read: wait for the writer's end to close.
                process.waitUntilExit()
            }
            throw TestFailure("server did not start: \(logs)")
        }
    }

    /// Everything the server printed on standard output, up to this moment.
    var output: String {
        logLock.lock()
        let captures = outputCaptures
        logLock.unlock()
        return captures.map { String(decoding: $0.data, as: UTF8.self) }.joined()
    }

    /// SIGHUP: reload config and secrets.
    func hangUp() { send(SIGHUP) }

    /// Sends `signal` without waiting for anything.
    func send(_ signal: Int32) {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, signal)
    }

    /// Everything the server wrote on standard error (its log), up to this moment.
    var logs: String {
        logLock.lock()
        let captures = logCaptures
        logLock.unlock()
        return captures.map { String(decoding: $0.data, as: UTF8.self) }.joined()
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// Starts reading the standard error `stallsLogReader` left unread; `logs` holds it from then on.
    func readStalledLog() {
        guard let handle = stalledLog else { return }
        stalledLog = nil
        let capture = PipeCapture(handle)
        logLock.lock()
        logCaptures.append(capture)
        logLock.unlock()
    }

    /// How the last server exited: its status, or the signal that ended it; nil while it runs.
    var exit: (reason: Process.TerminationReason, status: Int32)? {
        guard let process, !process.isRunning else { return nil }
        return (process.terminationReason, process.terminationStatus)
    }

    /// The running server's pid.
    var processIdentifier: Int32? { process.flatMap { $0.isRunning ? $0.processIdentifier : nil } }

    /// SIGTERM and wait: the graceful drain.
    func stop() {
        guard let process, process.isRunning else { return }
        process.terminate()
        process.waitUntilExit()
    }

    /// SIGKILL: the crash.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["LAYERON_BINARY"] { return path }
        // The test bundle sits beside the products SwiftPM built.
        let bundle = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidate = bundle.appendingPathComponent("layeron").path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        return packageRoot.appendingPathComponent(".build/debug/layeron").path
    }

    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    // MARK: HTTP

    func post(_ path: String, headers: [(String, String)] = [], body: [UInt8]) throws -> (status: Int, body: String) {
        let r = try HTTPClient.request(method: "POST", url: publicURL + path, headers: headers, body: body)
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }

    func admin(_ method: String, _ path: String, token: String? = nil, authorized: Bool = true) throws -> (status: Int, json: JSONValue, text: String) {
        var headers: [(String, String)] = []
        if authorized { headers.append(("Authorization", "Bearer \(token ?? adminToken)")) }
        let r = try HTTPClient.request(method: method, url: adminURL + path, headers: headers, body: method == "POST" ? [] : nil)
        let text = String(decoding: r.body, as: UTF8.self)
        return (r.status, (try? JSONParser.parse(r.body)) ?? .null, text)
    }

    /// The value of the unlabelled sample `name` in `GET /metrics`; nil when there is none.
    func metric(_ name: String) throws -> Double? {
        try admin("GET", "/metrics").text.split(separator: "\n")
            .first { $0.hasPrefix(name + " ") }.flatMap { Double($0.dropFirst(name.count + 1)) }
    }

    /// Polls until `condition` holds or `timeout` passes. The default is generous: a loaded CI machine
    /// can be ten times slower than a quiet one, and a deadline costs nothing until a test fails.
    func waitUntil(timeout: TimeInterval = 30, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
