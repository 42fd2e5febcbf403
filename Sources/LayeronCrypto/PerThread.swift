#if canImport(Glibc)
import Glibc
#endif

/// One object per thread, made on the thread's first use and released when the thread ends. Hot-path
/// caches (HMAC contexts, random bytes for ids) live here so that using them takes no lock.
public final class PerThread<Value: AnyObject>: @unchecked Sendable {
    private let key: pthread_key_t
    private let make: @Sendable () -> Value

    /// `what` names the slot in the one failure there is: the process ran out of thread-local slots.
    public init(_ what: String, make: @escaping @Sendable () -> Value) {
        var key = pthread_key_t()
        let created = pthread_key_create(&key) { value in
            if let value { Unmanaged<AnyObject>.fromOpaque(value).release() }
        }
        precondition(created == 0, "pthread_key_create failed: no thread-local slot left for \(what)")
        self.key = key
        self.make = make
    }

    /// The calling thread's object.
    public var current: Value {
        if let existing = pthread_getspecific(key) {
            return Unmanaged<Value>.fromOpaque(existing).takeUnretainedValue()
        }
        let value = make()
        pthread_setspecific(key, Unmanaged.passRetained(value).toOpaque())
        return value
    }
}
