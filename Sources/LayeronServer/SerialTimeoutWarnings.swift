import Foundation
import LayeronCore
import LayeronPluginHost

/// Tells the operator when an after-handler answer times out behind a plugin that takes one call at
/// a time (it did not declare LAYERON_PLUGIN_CONCURRENT): the provider's 503 says why, but only the
/// provider sees it, and the usual cause, a forgotten flag, is the plugin author's to fix. At most
/// one line a minute per plugin, counting the timeouts since the last.
final class SerialTimeoutWarnings: @unchecked Sendable {
    private let plugins: PluginRegistry
    private let logger: Logger
    /// Guards `lines`.
    private let lock = NSLock()
    private var lines = LogRateLimit<String>(intervalNanoseconds: 60_000_000_000)

    init(plugins: PluginRegistry, logger: Logger) {
        self.plugins = plugins
        self.logger = logger
    }

    /// An after-handler answer of `webhook` timed out after `timeout`; `handler` is its event's
    /// handler reference, as stored. Nothing is logged unless that handler's plugin is serial.
    func timedOut(handler: String?, webhook: String, timeout: TimeSpan) {
        guard let reference = handler.flatMap(HandlerReference.init(parsing:)), plugins.oneAtATimeVersion(reference) != nil else { return }
        let plugin = reference.plugin
        lock.lock()
        let timeouts = lines.occurrence(plugin, now: DispatchTime.now().uptimeNanoseconds)
        lock.unlock()
        guard let timeouts else { return }
        let count = timeouts > 1 ? " (\(timeouts) timeouts since the last of these lines)" : ""
        logger.warn("an after-handler answer timed out after \(timeout) behind plugin \(plugin), which takes one call at a time\(count): "
                    + "its events wait for each other. If its handlers are thread-safe, declare LAYERON_PLUGIN_CONCURRENT in its descriptor's flags; "
                    + "otherwise raise the webhook's timeout. At most one such line a minute per plugin",
                    [("webhook", webhook), ("plugin", plugin), ("handler", reference.description)])
    }
}
