/// A handler plugin written in Swift. Conform a `final class`, list its handlers, and export the C
/// entry point with `@_cdecl` (see `PluginEntry`); the kit turns the C ABI of `layeron/plugin.h` into
/// ordinary Swift values, so a plugin never touches a pointer.
///
/// Without `concurrent`, the host calls `handle` on one thread at a time; with it, from several at
/// once, which is why a plugin must be `Sendable`.
public protocol LayeronPlugin: AnyObject, Sendable {
    /// The plugin's name, `[a-z0-9_]+`; config refers to handlers as `NAME.HANDLER`.
    static var name: String { get }
    /// Free-form version, recorded with every attempt.
    static var version: String { get }
    /// One line for `layeron plugins list`.
    static var summary: String { get }
    /// True when `handle` may run on several threads at once.
    static var concurrent: Bool { get }
    /// The handler names `handle` accepts, `[a-z0-9_]+` each.
    static var handlerNames: [String] { get }

    /// Called once per loaded version with the plugin's object from `plugins.config.NAME`. A thrown
    /// error refuses this version (its description is shown to the operator); the one serving stays.
    init(host: PluginHost, config: PluginConfig) throws

    /// Handles one event for the handler named `handler`.
    func handle(_ handler: String, _ event: PluginEvent) -> HandlerResult

    /// Called once after the last call has returned, before the host forgets the instance.
    func shutdown()
}

extension LayeronPlugin {
    public static var summary: String { "" }
    public static var concurrent: Bool { false }
    public func shutdown() {}
}
