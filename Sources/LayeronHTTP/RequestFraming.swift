import CMicroHTTPD
import Glibc

/// What a request's headers say about how its body is framed, read in one walk of libmicrohttpd's
/// header list when the head has arrived, before any of the body is read.
///
/// libmicrohttpd 0.9.75 frames the body by the first `Content-Length` and ignores the others, and
/// it keeps every `Host` header. A proxy in front that reads the last `Content-Length` frames the
/// stream differently (the CL.CL desync; RFC 9112 §6.3 makes differing values an unrecoverable
/// error), and with two `Host` headers the host routed on depends on which one a reader takes. So
/// both are refused here, as is an HTTP/1.1 request without `Host` (RFC 9112 §3.2).
/// libmicrohttpd's own check of that (`MHD_OPTION_STRICT_FOR_CLIENT`) sends its 400's status line
/// and headers twice in 0.9.75, so it stays off.
struct RequestFraming {
    /// The body's length as declared; nil without a `Content-Length` (chunked or no body), or when it
    /// is not a decimal (libmicrohttpd has refused that one with 400 already); `Int.max` when it is
    /// too large to count.
    let declaredLength: Int?
    private let hasLength: Bool
    private let lengthsDiffer: Bool
    private let hosts: Int
    /// `Transfer-Encoding` headers, and whether one says anything but `chunked`.
    private let transferEncodings: Int
    private let otherCoding: Bool
    /// A `Transfer-Encoding` of `chunked` with whitespace after it, which libmicrohttpd 0.9.75 does
    /// not take for chunked (it compares the whole value) and would read as a body of unknown length.
    private let paddedChunked: Bool
    /// A header name that is empty or ends in a space or tab (`Content-Length : 5`).
    private let spaceBeforeColon: Bool
    /// What the head takes of the connection's pool (`HeadRoom`).
    let headPoolBytes: Int

    /// Walks the headers once; the common request (one of each, a dozen headers) costs a few
    /// comparisons per header and allocates nothing. `method` is the request line's, the start of the
    /// head in libmicrohttpd's read buffer. `hasQuery`: the target has a query, whose arguments
    /// take pool room too (looked for only then: webhooks rarely have one).
    init(_ connection: OpaquePointer?, method: UnsafePointer<CChar>?, hasQuery: Bool) {
        var walk = Walk()
        withUnsafeMutablePointer(to: &walk) { pointer in
            _ = MHD_get_connection_values_n(connection, .HEADER_KIND, { cls, _, key, keySize, value, valueSize in
                guard let cls, let key, let value else { return .YES }
                let walk = cls.assumingMemoryBound(to: Walk.self)
                walk.pointee.count += 1
                walk.pointee.end = value + valueSize
                // RFC 9112 §5.1: no whitespace between a field name and its colon. libmicrohttpd
                // 0.9.75 keeps it in the name, so `Content-Length : 5` would frame nothing here
                // while a proxy in front may frame the stream by it (request smuggling).
                if keySize == 0 || key[keySize - 1] == 0x20 || key[keySize - 1] == 0x09 { walk.pointee.spaceBeforeColon = true }
                if keySize == 14, strncasecmp(key, "content-length", 14) == 0 {
                    if let first = walk.pointee.length {
                        if first.size != valueSize || memcmp(first.text, value, valueSize) != 0 { walk.pointee.lengthsDiffer = true }
                    } else {
                        walk.pointee.length = (value, valueSize)
                    }
                } else if keySize == 4, strncasecmp(key, "host", 4) == 0 {
                    walk.pointee.hosts += 1
                } else if keySize == 6, strncasecmp(key, "cookie", 6) == 0 {
                    // libmicrohttpd copies each Cookie value into the pool to split it.
                    walk.pointee.copiedBytes += valueSize + 1
                } else if keySize == 17, strncasecmp(key, "transfer-encoding", 17) == 0 {
                    walk.pointee.transferEncodings += 1
                    if valueSize > 7, strncasecmp(value, "chunked", 7) == 0, isWhitespace(value + 7, valueSize - 7) {
                        walk.pointee.paddedChunked = true
                    } else if !(valueSize == 7 && strncasecmp(value, "chunked", 7) == 0) {
                        walk.pointee.otherCoding = true
                    }
                }
                return .YES
            }, pointer)
        }
        declaredLength = walk.length.flatMap { decimalValue($0.text) }
        hasLength = walk.length != nil
        lengthsDiffer = walk.lengthsDiffer
        hosts = walk.hosts
        transferEncodings = walk.transferEncodings
        otherCoding = walk.otherCoding
        paddedChunked = walk.paddedChunked
        spaceBeforeColon = walk.spaceBeforeColon
        var entries = walk.count
        if walk.copiedBytes > 0 { entries += Self.entries(connection, .COOKIE_KIND) }
        if hasQuery { entries += Self.entries(connection, .GET_ARGUMENT_KIND) }
        headPoolBytes = HeadRoom.poolBytes(method: method, end: walk.end, entries: entries, copiedBytes: walk.copiedBytes)
    }

    /// How many values of `kind` libmicrohttpd listed (each takes an entry of the pool).
    private static func entries(_ connection: OpaquePointer?, _ kind: MHD_ValueKind) -> Int {
        Int(MHD_get_connection_values_n(connection, kind, nil, nil))
    }

    /// Why the request is answered from its head alone, or nil to read its body. A declared body over
    /// `bodyLimit` is refused here, so the client is not invited (`100 Continue`) to send it and the
    /// connection is not held while it uploads. `version` is the request line's, such as `HTTP/1.1`:
    /// only HTTP/1.0 may leave out `Host` (libmicrohttpd answers older and newer majors with 505).
    func refusal(bodyLimit: Int, version: UnsafePointer<CChar>?) -> RequestRefusal? {
        if headPoolBytes > HeadRoom.limit { return .headTooLarge }
        if spaceBeforeColon { return .spaceBeforeColon }
        if lengthsDiffer { return .conflictingLengths }
        // Both framings at once is the other classic desync (RFC 9112 §6.1: a server may refuse
        // it, and must close after it otherwise); a coding other than chunked, libmicrohttpd 0.9.75
        // cannot read, and waited out the idle timeout.
        if transferEncodings > 0, hasLength { return .lengthAndChunked }
        if transferEncodings > 1 || otherCoding { return .unsupportedCoding }
        if paddedChunked { return .paddedChunked }
        if hosts > 1 { return .repeatedHost }
        if hosts == 0, let version, strcmp(version, "HTTP/1.0") != 0 { return .missingHost }
        if let declaredLength, declaredLength > bodyLimit { return .bodyTooLarge(limit: bodyLimit) }
        return nil
    }
}

/// The walk's findings; the first `Content-Length` value points into libmicrohttpd's pool, valid
/// for the request.
private struct Walk {
    var length: (text: UnsafePointer<CChar>, size: Int)?
    var lengthsDiffer = false
    var hosts = 0
    var transferEncodings = 0
    var otherCoding = false
    var paddedChunked = false
    var spaceBeforeColon = false
    var count = 0
    /// The end of the last header's value: headers are kept in arrival order, in place.
    var end: UnsafePointer<CChar>?
    /// Header values libmicrohttpd copies into the pool (Cookie's, to split it into cookies).
    var copiedBytes = 0
}

/// `size` bytes at `text`, all spaces or tabs.
private func isWhitespace(_ text: UnsafePointer<CChar>, _ size: Int) -> Bool {
    (0..<size).allSatisfy { text[$0] == 0x20 || text[$0] == 0x09 }
}

/// libmicrohttpd 0.9.75 keeps a connection's request head and the response's header in one pool
/// (`HTTPServer.poolBytes`): the head as received, in its read buffer, plus 64 bytes for each
/// entry in its list of headers, cookies and query arguments (measured: the answer fails at the same
/// head bytes plus 64 per header, whatever the mix of few long and many short headers), plus a copy
/// of each Cookie header's value, which it splits into cookies. It answers 431 itself only when the head
/// does not fit at all; a head that fits but leaves less than the response's header needs (about
/// 120 to 250 bytes for the server's own answers) was handled, and recorded, and then its answer
/// could not be built and the connection was closed without one. So a head that leaves less than
/// `reserve` is refused at its first call, with an answer written straight to the socket, which
/// needs no room in the pool.
enum HeadRoom {
    /// Bytes of the pool each header's list entry takes (libmicrohttpd 0.9.75 on 64-bit).
    static let bytesPerHeader = 64
    /// Room kept for the response's header: the server's largest own one (a 431's or a 503's with
    /// `Retry-After`, with `Date` and `Connection: close`) is under 300 bytes; the rest is for headers
    /// an after-handler plugin adds.
    static let reserve = 1024
    /// The most a head may take of the pool and still be answered.
    static let limit = HTTPServer.poolBytes - reserve

    /// What a head takes of the pool: its bytes from the request line's start to the end of the last
    /// header's value (libmicrohttpd parses in place, so whitespace a client pads with counts too),
    /// plus each list entry and the copied bytes. Without headers, or if the pointers were not into
    /// one buffer, the request line alone can be over nothing: libmicrohttpd answered a longer one
    /// 414 itself.
    static func poolBytes(method: UnsafePointer<CChar>?, end: UnsafePointer<CChar>?, entries: Int, copiedBytes: Int) -> Int {
        let listed = entries * bytesPerHeader + copiedBytes
        guard let method, let end, end > method else { return listed }
        return (end - method) + listed
    }
}

/// A decimal header value such as Content-Length; nil unless it is all digits. One too large for an
/// Int is `Int.max`, over any body limit: libmicrohttpd 0.9.75 reads 18446744073709551615 as "length
/// unknown" (and would read the body until the connection closed, answering nothing), and answers
/// longer ones with its own 413 twice in one response.
private func decimalValue(_ text: UnsafePointer<CChar>) -> Int? {
    var value = 0
    var tooLarge = false
    var p = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
    guard p.pointee != 0 else { return nil }
    while p.pointee != 0 {
        let digit = Int(p.pointee) - 48
        guard (0...9).contains(digit) else { return nil }
        if !tooLarge {
            let (times10, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = times10.addingReportingOverflow(digit)
            if o1 || o2 { tooLarge = true } else { value = sum }
        }
        p += 1
    }
    return tooLarge ? Int.max : value
}
