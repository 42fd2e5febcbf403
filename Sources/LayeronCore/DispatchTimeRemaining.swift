import Dispatch

extension DispatchTime {
    /// The seconds from now until this time; 0 once it has passed. For a wait on a condition that
    /// takes a span, bounded by a deadline set earlier (a stop that shares one among its waits).
    public var secondsFromNow: Double {
        let now = DispatchTime.now().uptimeNanoseconds
        return uptimeNanoseconds > now ? Double(uptimeNanoseconds - now) / 1e9 : 0
    }
}
