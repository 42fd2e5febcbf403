import Foundation

/// One line of an HTTP answer's head as libcurl's header callback hands it over (its line end
/// included). The outbound deliveries and the CLI's admin client both read answers' headers, and
/// read them the same way through this.
public enum ResponseHeadLine: Equatable, Sendable {
    /// `HTTP/1.1 200 OK`: an answer begins. After a 1xx, the final answer's head follows, so a
    /// reader drops what it kept of the earlier one.
    case status
    /// The empty line that ends the head.
    case end
    case field(name: String, value: String)
    /// A line that is none of these (no colon): nothing to keep.
    case other

    public init(_ line: String) {
        if line.hasPrefix("HTTP/") {
            self = .status
        } else if line == "\r\n" || line == "\n" {
            self = .end
        } else if let colon = line.firstIndex(of: ":") {
            self = .field(name: String(line[..<colon]), value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines))
        } else {
            self = .other
        }
    }

    /// The `count` bytes at `data`, as the callback gets them; bytes that are not UTF-8 read as U+FFFD.
    public init(_ data: UnsafePointer<CChar>, count: Int) {
        self.init(data.withMemoryRebound(to: UInt8.self, capacity: count) {
            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
        })
    }
}
