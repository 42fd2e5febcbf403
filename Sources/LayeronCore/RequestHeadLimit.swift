/// The most bytes a request's line and headers may take: libmicrohttpd parses the head in a pool of
/// its own per connection (`HTTPServer.poolBytes`, this plus room for the answer), and a longer
/// head is answered 431. Config that only a longer head could match (a webhook `path`, a signature
/// `header` name) is refused by `check` and at load, since no request would ever reach it.
public enum RequestHeadLimit {
    public static let bytes = 15 * 1024

    /// Why no request could carry `path` in its request line, or nil.
    static func pathProblem(_ path: String) -> String? {
        problem(what: "a request line with it", bytes: "POST \(path) HTTP/1.1".utf8.count)
    }

    /// Why no request could carry a header named `name` (with a request line beside it), or nil.
    static func headerNameProblem(_ name: String) -> String? {
        problem(what: "the header with a request line", bytes: "POST / HTTP/1.1\r\n\(name): ".utf8.count)
    }

    private static func problem(what: String, bytes count: Int) -> String? {
        guard count > bytes else { return nil }
        return "is too long: \(what) takes \(count) bytes, and a request's line and headers may take at most \(bytes) "
            + "(a longer head is answered 431), so no request could reach it; shorten it"
    }
}
