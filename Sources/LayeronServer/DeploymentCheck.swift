import Foundation
import LayeronCore
import LayeronPluginHost

/// What `layeron check` found: the config's issues, every plugin file's state, and handlers that the
/// config names but no plugin provides.
public struct DeploymentReport: Sendable {
    public var problems: [String]
    public var plugins: [PluginStatus]
}

/// Loads the config and every plugin the way `serve` would, without listening or touching the store.
public func checkDeployment(configPath: String) -> DeploymentReport {
    let config: ServerConfig
    do {
        config = try loadConfig(path: configPath)
    } catch {
        return DeploymentReport(problems: error.description.split(separator: "\n").map(String.init), plugins: [])
    }
    let registry = PluginRegistry(privateDirectory: NSTemporaryDirectory() + "layeron-check-\(getpid())",
                                  logger: .discard, configs: { config.plugins.config })
    var problems: [String] = []
    if !FileManager.default.fileExists(atPath: config.plugins.dir) {
        problems.append("\(configPath): plugins.dir: folder \(config.plugins.dir) does not exist")
    }
    registry.loadDirectory(config.plugins.dir)
    let statuses = registry.statuses()
    for status in statuses where status.state == .failed {
        problems.append(status.error ?? "\(status.file): refused")
    }
    for (i, webhook) in config.webhooks.enumerated() {
        for handler in webhook.routes.allHandlers where !registry.isAvailable(handler) {
            problems.append("\(configPath): webhooks[\(i)] (\(webhook.name)): handler \(handler) is not provided by any plugin in \(config.plugins.dir)")
        }
    }
    registry.shutdownAll()
    return DeploymentReport(problems: problems, plugins: statuses)
}
