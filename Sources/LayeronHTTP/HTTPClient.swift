import CCurl
import CShims
import Foundation
import LayeronCore

/// A failed outbound request: the transport failed before any HTTP status arrived.
public struct HTTPClientError: Error, CustomStringConvertible, Sendable {
    public let url: String
    public let reason: String
    public var description: String { "\(url): \(reason)" }
}

/// Blocking HTTP requests on a libcurl easy handle: what the CLI uses to talk to the admin API.
public enum HTTPClient {
    private static let globalInit: Void = { curl_global_init(Int(CURL_GLOBAL_DEFAULT)) }()

    /// The status, headers and body of the answer; after a 1xx, the final answer's.
    public static func request(method: String, url: String, headers: [(String, String)] = [], body: [UInt8]? = nil,
                               timeoutSeconds: Int = 30) throws(HTTPClientError) -> (status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        _ = globalInit
        guard let curl = curl_easy_init() else { throw HTTPClientError(url: url, reason: "libcurl failed to initialise") }
        defer { curl_easy_cleanup(curl) }
        let sink = ResponseSink()
        var headerList: UnsafeMutablePointer<curl_slist>?
        for (name, value) in headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
        defer { curl_slist_free_all(headerList) }

        _ = layeron_curl_set_string(curl, CURLOPT_URL, url)
        if method == "HEAD" {
            // A HEAD answer announces a body it does not send: without NOBODY curl would wait for it.
            _ = layeron_curl_set_long(curl, CURLOPT_NOBODY, 1)
        } else {
            _ = layeron_curl_set_string(curl, CURLOPT_CUSTOMREQUEST, method)
        }
        _ = layeron_curl_set_long(curl, CURLOPT_TIMEOUT, timeoutSeconds)
        _ = layeron_curl_set_long(curl, CURLOPT_NOSIGNAL, 1)
        _ = layeron_curl_set_pointer(curl, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList))
        _ = layeron_curl_set_write_function(curl) { data, size, count, user in
            guard let data, let user else { return 0 }
            let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
            data.withMemoryRebound(to: UInt8.self, capacity: size * count) {
                sink.bytes.append(contentsOf: UnsafeBufferPointer(start: $0, count: size * count))
            }
            return size * count
        }
        _ = layeron_curl_set_pointer(curl, CURLOPT_WRITEDATA, Unmanaged.passUnretained(sink).toOpaque())
        _ = layeron_curl_set_header_function(curl) { data, size, count, user in
            guard let data, let user else { return 0 }
            let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
            switch ResponseHeadLine(data, count: size * count) {
            case .status: sink.headers.removeAll()
            case let .field(name, value): sink.headers.append((name, value))
            case .end, .other: break
            }
            return size * count
        }
        _ = layeron_curl_set_pointer(curl, CURLOPT_HEADERDATA, Unmanaged.passUnretained(sink).toOpaque())
        let payload = body ?? []
        let code: CURLcode = payload.withUnsafeBufferPointer { buffer in
            if body != nil {
                _ = layeron_curl_set_long(curl, CURLOPT_POSTFIELDSIZE, buffer.count)
                _ = layeron_curl_set_pointer(curl, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: buffer.baseAddress ?? UnsafePointer(bitPattern: 1)!))
            }
            return withExtendedLifetime(sink) { curl_easy_perform(curl) }
        }
        guard code == CURLE_OK else {
            throw HTTPClientError(url: url, reason: String(cString: curl_easy_strerror(code)))
        }
        var status = 0
        _ = layeron_curl_get_response_code(curl, &status)
        return (status, sink.headers, sink.bytes)
    }
}

private final class ResponseSink {
    var headers: [(name: String, value: String)] = []
    var bytes: [UInt8] = []
}
