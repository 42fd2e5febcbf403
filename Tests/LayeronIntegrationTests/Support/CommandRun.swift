import Foundation

/// One run of a program to its end, as a user runs it from a shell: the real `layeron` binary for the
/// CLI, or bash for lines the server printed for pasting.
struct CommandRun {
    let status: Int32
    let stdout: String
    let stderr: String

    /// Runs `layeron arguments…` with `stdin` on standard input.
    static func layeron(_ arguments: [String], stdin: String? = nil, environment: [String: String] = [:],
                        removing: Set<String> = [], directory: String? = nil) throws -> CommandRun {
        try run(TestServer.binaryPath, arguments, stdin: stdin, environment: environment, removing: removing, directory: directory)
    }

    /// Runs `script` with `bash -e`.
    static func bash(_ script: String, environment: [String: String] = [:], removing: Set<String> = [],
                     directory: String? = nil) throws -> CommandRun {
        try run("/bin/bash", ["-e", "-c", script], stdin: nil, environment: environment, removing: removing, directory: directory)
    }

    /// Waits at most `timeout` seconds, then kills the program and fails.
    static func run(_ executable: String, _ arguments: [String], stdin: String?, environment: [String: String],
                    removing: Set<String>, directory: String?, timeout: TimeInterval = 30) throws -> CommandRun {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ChildEnvironment.inherited(removing: removing)
        for (k, v) in environment { env[k] = v }
        process.environment = env
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let input = Pipe(), output = Pipe(), errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        if let stdin { input.fileHandleForWriting.write(Data(stdin.utf8)) }
        try input.fileHandleForWriting.close()
        let collected = Collected()
        let group = DispatchGroup()
        for (pipe, isOutput) in [(output, true), (errors, false)] {
            group.enter()
            DispatchQueue.global().async {
                let data = pipe.fileHandleForReading.readDataToEndOfFile()
                collected.set(data, isOutput: isOutput)
                group.leave()
            }
        }
        if group.wait(timeout: .now() + timeout) == .timedOut {
            process.terminate()
            throw TestFailure("\(executable) \(arguments) did not finish in \(timeout)s")
        }
        process.waitUntilExit()
        return CommandRun(status: process.terminationStatus, stdout: collected.output, stderr: collected.errors)
    }

    /// The two streams, filled from two reader threads.
    private final class Collected: @unchecked Sendable {
        private let lock = NSLock()
        private var out = Data(), err = Data()

        func set(_ data: Data, isOutput: Bool) {
            lock.lock()
            if isOutput { out = data } else { err = data }
            lock.unlock()
        }

        var output: String { lock.lock(); defer { lock.unlock() }; return String(decoding: out, as: UTF8.self) }
        var errors: String { lock.lock(); defer { lock.unlock() }; return String(decoding: err, as: UTF8.self) }
    }
}
