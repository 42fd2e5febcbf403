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
    /// is not a decimal (libmicrohttpd has refused that one with 400 already).
    let declaredLength: Int?
    private let lengthsDiffer: Bool
    private let hosts: Int

    /// Walks the headers once; the common request (one of each, a dozen headers) costs a length
    /// comparison per header and allocates nothing.
    init(_ connection: OpaquePointer?) {
        var walk = Walk()
        withUnsafeMutablePointer(to: &walk) { pointer in
            _ = MHD_get_connection_values_n(connection, .HEADER_KIND, { cls, _, key, keySize, value, valueSize in
                guard let cls, let key, let value else { return .YES }
                let walk = cls.assumingMemoryBound(to: Walk.self)
                if keySize == 14, strncasecmp(key, "content-length", 14) == 0 {
                    if let first = walk.pointee.length {
                        if first.size != valueSize || memcmp(first.text, value, valueSize) != 0 { walk.pointee.lengthsDiffer = true }
                    } else {
                        walk.pointee.length = (value, valueSize)
                    }
                } else if keySize == 4, strncasecmp(key, "host", 4) == 0 {
                    walk.pointee.hosts += 1
                }
                return .YES
            }, pointer)
        }
        declaredLength = walk.length.flatMap { decimalValue($0.text) }
        lengthsDiffer = walk.lengthsDiffer
        hosts = walk.hosts
    }

    /// Why the request is answered from its head alone, or nil to read its body. A declared body over
    /// `bodyLimit` is refused here, so the client is not invited (`100 Continue`) to send it and the
    /// connection is not held while it uploads. `version` is the request line's, such as `HTTP/1.1`:
    /// only HTTP/1.0 may leave out `Host` (libmicrohttpd answers older and newer majors with 505).
    func refusal(bodyLimit: Int, version: UnsafePointer<CChar>?) -> RequestRefusal? {
        if lengthsDiffer { return .conflictingLengths }
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
}

/// A decimal header value such as Content-Length; nil unless it is all digits (and fits).
private func decimalValue(_ text: UnsafePointer<CChar>) -> Int? {
    var value = 0
    var p = UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self)
    guard p.pointee != 0 else { return nil }
    while p.pointee != 0 {
        let digit = Int(p.pointee) - 48
        guard (0...9).contains(digit) else { return nil }
        let (times10, o1) = value.multipliedReportingOverflow(by: 10)
        let (sum, o2) = times10.addingReportingOverflow(digit)
        guard !o1, !o2 else { return nil }
        value = sum
        p += 1
    }
    return value
}
