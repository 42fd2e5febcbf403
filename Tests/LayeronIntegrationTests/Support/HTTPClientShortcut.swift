import LayeronCore
import LayeronHTTP

enum HTTPClientShortcut {
    static func get(_ url: String, token: String? = nil) throws -> (status: Int, text: String) {
        try send("GET", url, token: token, body: nil)
    }

    static func get(_ url: String) throws -> Int {
        try send("GET", url, token: nil, body: nil).status
    }

    static func head(_ url: String) throws -> Int {
        try send("HEAD", url, token: nil, body: nil).status
    }

    static func post(_ url: String, token: String?, body: [UInt8]) throws -> (status: Int, text: String, json: JSONValue) {
        let r = try send("POST", url, token: token, body: body)
        return (r.status, r.text, (try? JSONParser.parse(r.text)) ?? .null)
    }

    private static func send(_ method: String, _ url: String, token: String?, body: [UInt8]?) throws -> (status: Int, text: String) {
        let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
        let r = try HTTPClient.request(method: method, url: url, headers: headers, body: body)
        return (r.status, String(decoding: r.body, as: UTF8.self))
    }
}
