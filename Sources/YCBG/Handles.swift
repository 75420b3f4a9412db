import Glibc
import Synchronization
import YCBGCore

/// What a `yc_client *` points to.
final class ClientHandle: Sendable {
    let client: Client
    init(_ client: Client) { self.client = client }
}

/// What a `yc_task *` points to.
final class TaskHandle: Sendable {
    let task: BackgroundTask
    init(_ task: BackgroundTask) { self.task = task }
}

/// The set of live handles. Every ABI call looks its handle up here, so a
/// pointer that was never a handle, or was already freed, is refused
/// instead of being dereferenced.
final class HandleRegistry<Object: AnyObject & Sendable>: Sendable {
    private let live = Mutex<[UInt: Unmanaged<Object>]>([:])

    func register(_ object: Object) -> UnsafeMutableRawPointer {
        let unmanaged = Unmanaged.passRetained(object)
        let pointer = unmanaged.toOpaque()
        let key = UInt(bitPattern: pointer)
        live.withLock { $0[key] = unmanaged }
        return pointer
    }

    /// The object behind a live handle (retained for the caller's use).
    func lookup(_ pointer: UnsafeRawPointer?) -> Object? {
        guard let pointer else { return nil }
        let key = UInt(bitPattern: pointer)
        return live.withLock { $0[key]?.takeUnretainedValue() }
    }

    /// Forgets a handle; the object goes once nobody else uses it.
    func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let pointer else { return }
        let key = UInt(bitPattern: pointer)
        let removed = live.withLock { $0.removeValue(forKey: key) }
        removed?.release()
    }
}

let clients = HandleRegistry<ClientHandle>()
let tasks = HandleRegistry<TaskHandle>()
