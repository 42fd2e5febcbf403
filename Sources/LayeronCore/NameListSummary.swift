/// Names for a log line, comma-separated, the first `limit` of them and then "… and N more": a
/// config with thousands of webhooks wrote every name on the reload's one line (11 KB for 2,000).
public func nameListSummary(_ names: [String], limit: Int = 20) -> String {
    guard names.count > limit else { return names.joined(separator: ",") }
    return names.prefix(limit).joined(separator: ",") + ",… and \(names.count - limit) more"
}
