/// The plugin's object from `plugins.config.NAME` in `config/layeron.json`, as JSON text (`{}` when
/// absent). The kit does not parse it: decode it with whatever the plugin already uses, for example
/// Foundation's `JSONDecoder().decode(Settings.self, from: Data(config.bytes))`.
public struct PluginConfig: Sendable {
    public let bytes: [UInt8]

    public var json: String { String(decoding: bytes, as: UTF8.self) }

    public init(bytes: [UInt8]) { self.bytes = bytes }
}
