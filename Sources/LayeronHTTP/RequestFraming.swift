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
                } else if keySize == 17, strncasecmp(key, "transfer-encoding", 17) == 0 {
                    walk.pointee.transferEncodings += 1
                    if !(valueSize == 7 && strncasecmp(value, "chunked", 7) == 0) { walk.pointee.otherCoding = true }
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
    }

    /// Why the request is answered from its head alone, or nil to read its body. A declared body over
    /// `bodyLimit` is refused here, so the client is not invited (`100 Continue`) to send it and the
    /// connection is not held while it uploads. `version` is the request line's, such as `HTTP/1.1`:
    /// only HTTP/1.0 may leave out `Host` (libmicrohttpd answers older and newer majors with 505).
    func refusal(bodyLimit: Int, version: UnsafePointer<CChar>?) -> RequestRefusal? {
        if lengthsDiffer { return .conflictingLengths }
        // Both framings at once is the other classic desync (RFC 9112 §6.1: a server may refuse
        // it, and must close after it otherwise); a coding other than chunked, libmicrohttpd 0.9.75
        // cannot read, and waited out the idle timeout.
        if transferEncodings > 0, hasLength { return .lengthAndChunked }
        if transferEncodings > 1 || otherCoding { return .unsupportedCoding }
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
