import Foundation
import LayeronPluginHost

extension PluginLoadRecord {
    /// `plugin-loads/` in the database's folder. The record must outlive the process that writes it
    /// (a temporary folder named by pid would not be found again), and the data folder is the one
    /// place `serve` and `check` both know and `serve` can write.
    static func besideDatabase(_ database: String, loader: String) -> PluginLoadRecord {
        let folder = (database as NSString).deletingLastPathComponent
        return PluginLoadRecord(directory: folder.isEmpty ? "plugin-loads" : "\(folder)/plugin-loads", loader: loader)
    }
}
