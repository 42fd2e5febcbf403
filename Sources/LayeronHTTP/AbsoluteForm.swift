import Glibc

/// A request target in absolute-form (`http://example.com/webhooks/stripe`), which a server must
/// accept (RFC 9112 3.2.2) and proxies and some clients send. libmicrohttpd hands it on whole, as
/// the path, and no route served it (404); its scheme and authority are dropped here, once for every
/// listener, and the rest is routed as the origin-form path would be, with the target's authority as
/// the request's `Host`. The asterisk-form (`*`) and the authority-form (`example.com:443`) are left
/// as they are.
enum AbsoluteForm {
    /// The length of `http://authority` or `https://authority` (any case) at the start of a raw
    /// target; 0 for any other form. An empty authority is no http URI (RFC 9110 4.2.1), and one
    /// with a `%` is left whole too: libmicrohttpd decodes it in the path it hands on, which would
    /// then no longer start with these bytes.
    static func prefixLength(_ target: UnsafePointer<UInt8>) -> Int {
        var i = 0
        for letter in "http".utf8 {
            guard target[i] | 0x20 == letter else { return 0 }
            i += 1
        }
        if target[i] | 0x20 == UInt8(ascii: "s") { i += 1 }
        for separator in "://".utf8 {
            guard target[i] == separator else { return 0 }
            i += 1
        }
        let authority = i
        while target[i] != 0, target[i] != UInt8(ascii: "/"), target[i] != UInt8(ascii: "?"), target[i] != UInt8(ascii: "#") {
            if target[i] == UInt8(ascii: "%") { return 0 }
            i += 1
        }
        return i > authority ? i : 0
    }

    /// The authority of a raw target whose scheme and authority are its first `prefixLength` bytes:
    /// the host (and port) the request is for, which stands in for its `Host` header (RFC 9112
    /// 3.2.2: an origin server must ignore the received `Host` then).
    static func authority(_ target: UnsafePointer<UInt8>, prefixLength: Int) -> String {
        var start = 0
        while target[start] != UInt8(ascii: ":") { start += 1 }
        start += 3
        // Userinfo (`user@host`, deprecated) names no host.
        for i in start..<prefixLength where target[i] == UInt8(ascii: "@") { start = i + 1 }
        return String(decoding: UnsafeBufferPointer(start: target + start, count: prefixLength - start), as: UTF8.self)
    }

    /// The origin-form path of libmicrohttpd's decoded `path`, whose raw target began with
    /// `prefixLength` bytes of scheme and authority: `/` when nothing follows them.
    static func path(_ path: UnsafePointer<CChar>, prefixLength: Int) -> String {
        guard prefixLength > 0, strlen(path) >= prefixLength else { return String(cString: path) }
        let rest = String(cString: path + prefixLength)
        return rest.isEmpty ? "/" : rest
    }
}
