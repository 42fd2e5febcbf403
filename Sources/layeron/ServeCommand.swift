import Foundation
import LayeronCore
import LayeronPluginHost
import LayeronServer
import Synchronization

/// `layeron serve`: runs until SIGTERM or SIGINT, then drains.
enum ServeCommand {
    static let usage = "layeron serve [--config FILE] [--listen HOST:PORT] [--admin-listen HOST:PORT] [--database FILE] [--env ENV] [--log-level debug|info|warn|error] [--log-format text|json] [--workers N]"

    static func run(_ words: [String]) throws(UsageError) -> Int32 {
        let args = Arguments(words)
        try args.only(["config", "listen", "admin-listen", "database", "env", "log-level", "log-format", "workers"], words: [])
        var options = ServeOptions(configPath: ProcessEnvironment.configPath(args),
                                   environment: try ProcessEnvironment.environmentName(args))
        options.listen = try address(args, "listen")
        options.adminListen = try address(args, "admin-listen")
        options.database = try ProcessEnvironment.databaseFlag(args)
        if let text = args.value("workers") {
            guard let n = Int(text), (1...256).contains(n) else { throw UsageError("--workers takes a number from 1 to 256") }
            options.workers = n
        }
        let levelName = args.value("log-level") ?? ProcessEnvironment.variable("LAYERON_LOG_LEVEL") ?? "info"
        guard let level = LogLevel(name: levelName) else {
            let source = args.value("log-level") != nil ? "--log-level" : "LAYERON_LOG_LEVEL"
            throw UsageError("\(source) takes debug, info, warn or error")
        }
        let formatName = args.value("log-format") ?? (isatty(STDERR_FILENO) == 1 ? "text" : "json")
        guard let format = LogWriter.Format(rawValue: formatName) else { throw UsageError("--log-format takes text or json") }
        let logWriter = LogWriter(format: format)
        let logger = logWriter.logger(minimum: level)

        // Signals (set up by main.swift before anything else) are acted on by one thread rather than
        // in a signal handler, so draining can take locks.
        // The first stop signal drains, which waits for running handlers; a second one, for a handler that
        // never returns, exits at once. That is as safe as a crash: what was acknowledged is
        // committed, and the cut-off attempts run again after the next start. One that follows the first
        // within `sameStop` is the same stop sent twice (`timeout` signals the process and then its
        // group): the kernel merged such pairs while the signals waited blocked, the forwarding handler
        // takes each. A stop during the start ends it: the start waits on `stop` for the plugins present
        // at start to load, taking the signals on this thread meanwhile (`StopRequest`). A SIGHUP during
        // the start is taken once the server runs: the start reads the config, secrets and plugins
        // folder as they are, but the SIGHUP may be meant to retry a plugin the start refused. A
        // SIGHUP's reload runs on a thread of its own (`HangUpReloads`).
        let stop = StopRequest(whileWaiting: ProcessSignals.takingSignals)
        let firstStop = Atomic<UInt64>(0)
        let sameStop: UInt64 = 250_000_000
        let phase = Mutex(ServePhase.starting(hangUpWaiting: false))
        let reloads = HangUpReloads { phase.withLock { $0 }.server?.reloadOnHangUp() }
        ProcessSignals.deliver { sig in
            let now = DispatchTime.now().uptimeNanoseconds
            let first = firstStop.load(ordering: .relaxed)
            if sig == SIGHUP {
                if phase.withLock({ $0.holdHangUp() }) {
                    logger.info("SIGHUP while the server starts: its reload and plugins folder rescan run once it has started")
                } else {
                    reloads.request()
                }
            } else if first == 0 {
                firstStop.store(now, ordering: .relaxed)
                stop.request()
            } else if now - first >= sameStop {
                logger.warn("second signal: exiting without waiting for running handlers; their events run again after the next start")
                _exit(1)
            }
        }

        let server: Server
        let secrets: ServeSecrets
        let watcher: SecretStoreWatcher
        do {
            secrets = try ServeSecrets.prepare(options: options, variables: ProcessEnvironment.variables, logger: logger)
            logger.info("secrets store open", [("file", secrets.store.path), ("environment", options.environment),
                                               ("master_key", secrets.keySource.description)])
            let variables = ProcessEnvironment.variables
            let environment = options.environment
            options.beforeReload = { [secrets] config, keeping in
                secrets.generateMissing(for: config, keeping: keeping, environment: environment, variables: variables, logger: logger)
            }
            // Made before the server reads the store, so a change from then on reloads: one made as the
            // listening lines appear would otherwise be the watcher's starting point, and never applied.
            watcher = SecretStoreWatcher(store: secrets.store, environment: options.environment, logger: logger) {
                phase.withLock { $0 }.server?.reloadSecrets()
            }
            server = try Server.start(options: options, resolver: secrets.resolver, logger: logger, databaseLock: secrets.databaseLock,
                                      stop: stop)
        } catch let ServeError.stoppedWhileStarting(abandoned) {
            // As after a drain, below: a thread may still be inside a plugin's code.
            if !abandoned.isEmpty {
                logWriter.flush(seconds: 2)
                _exit(0)
            }
            return 0
        } catch {
            StandardStream.error.write("layeron serve: \(error)\n")
            return 1
        }
        // Written unbuffered: tests and scripts read these lines to learn the ports.
        var lines = ["listening on \(server.publicAddress)", "admin listening on \(server.adminAddress)"]
        if options.environment == SecretsSetup.development {
            lines += DevelopmentSecrets.banner(created: secrets.created, config: secrets.config, publicAddress: server.publicAddress,
                                               command: CommandLine.arguments[0], secretsArguments: storeArguments(args),
                                               adminArguments: adminArguments(args, server))
        }
        // A stop asked for during the loads of the files that changed as the server started ended
        // that wait (`Server.start`): the server drains at once, unannounced.
        let hangUpWaiting = phase.withLock { $0.begin(server) }
        if !stop.isRequested {
            watcher.start()
            StandardStream.output.write(lines.joined(separator: "\n") + "\n")
            // After every thread of the start exists (each inherited the block from this one).
            ProcessSignals.takeOnThisThread()
            if hangUpWaiting { reloads.request() }
            stop.wait()
            watcher.stop()
        }
        phase.withLock { $0 = .stopping }
        // A SIGHUP's reload under way finishes first: the drain shuts the plugins down. Only for so
        // long: it may be waiting for a plugin's `init` that never returns, and a version whose `init`
        // returns after the drain is shut down by its load (`PluginRegistry.shutdownAll`).
        // The stop waits for plugins' code this long in all, the drain of handlers not counted (`Server.stop`).
        var pluginWait = WaitBudget(PluginRegistry.defaultStopWait)
        if !pluginWait.spend({ reloads.waitUntilIdle(until: $0) }) {
            logger.warn("draining without waiting any longer for the SIGHUP reload under way: it has not finished after "
                        + "\(PluginRegistry.defaultStopWait) (a plugin's init that does not return?)")
        }
        logger.info("draining")
        // With a thread still inside a plugin's code, `exit` would run the destructors of the very
        // library it runs in, and wait for ever for the loader's lock if that code is a constructor
        // inside `dlopen`: what had to be kept is committed and closed by now.
        if !server.stop(pluginWait: pluginWait).isEmpty {
            logWriter.flush(seconds: 2)
            _exit(0)
        }
        return 0
    }

    /// The flags a follow-up `secrets get` needs to open the same store as this server.
    private static func storeArguments(_ args: Arguments) -> [String] {
        var out: [String] = []
        if let config = args.value("config"), config != ProcessEnvironment.defaultConfigPath { out += ["--config", config] }
        if let database = args.value("database") { out += ["--database", database] }
        return out
    }

    /// The flags a follow-up `events list` needs: the config and store (for the admin address and token), and
    /// the admin URL only when `--admin-listen` moved the listener away from the config's address.
    private static func adminArguments(_ args: Arguments, _ server: Server) -> [String] {
        var out: [String] = []
        out += storeArguments(args)
        // The follow-up command finds the config's admin.listen by itself, unless the flag changed it
        // or it asked for any free port (port 0), which only this server knows.
        if args.value("admin-listen") != nil || server.configuredAdminPort == 0 { out += ["--admin", "http://\(server.adminAddress)"] }
        return out
    }

    private static func address(_ args: Arguments, _ name: String) throws(UsageError) -> ListenAddress? {
        guard let text = args.value(name) else { return nil }
        guard let address = ListenAddress(parsing: text) else {
            throw UsageError("--\(name) takes HOST:PORT with an IP address and a port from 0 to 65535, like 127.0.0.1:8080")
        }
        guard address.isIPAddress else {
            throw UsageError("--\(name) takes HOST:PORT with an IP address, like 127.0.0.1:8080 (host names are not resolved)")
        }
        return address
    }
}
