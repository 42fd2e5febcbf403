import LayeronHTTP

enum HTTPClientShortcut {
    /// The status of a plain GET.
    static func get(_ url: String) throws -> Int {
        try HTTPClient.request(method: "GET", url: url).status
    }
}
