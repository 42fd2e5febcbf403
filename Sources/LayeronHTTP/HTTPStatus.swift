import CMicroHTTPD

/// HTTP status codes in words.
public enum HTTPStatus {
    /// The reason phrase of `status` ("Not Found" for 404), from libmicrohttpd's table; "Unknown"
    /// for a code it does not know.
    public static func reasonPhrase(_ status: Int) -> String {
        guard let code = UInt32(exactly: status) else { return "Unknown" }
        return String(cString: MHD_get_reason_phrase_for(code))
    }
}
