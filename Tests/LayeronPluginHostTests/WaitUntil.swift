import Foundation

/// Polls `condition` every 10 ms until it holds (true) or `seconds` have passed (false): the
/// registry's loads and warnings happen on threads of their own.
func waitUntil(seconds: TimeInterval = 10, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while !condition() {
        if Date() > deadline { return false }
        usleep(10_000)
    }
    return true
}
