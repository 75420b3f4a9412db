import Glibc
import YCBGCore

/// What a `yc_client *` stands for.
final class ClientHandle: Sendable {
    let client: Client
    init(_ client: Client) { self.client = client }
}

/// What a `yc_task *` stands for.
final class TaskHandle: Sendable {
    let task: BackgroundTask
    init(_ task: BackgroundTask) { self.task = task }
}

/// The live handles of one type. A handle given to C is not an address: it
/// encodes a slot of this table and the slot's generation, which goes up
/// when the handle is freed. So a handle that was freed, even one whose slot
/// now holds a new object, a pointer that was never a handle, and a handle
/// of the other type are all refused instead of reaching an object.
///
/// Layout of the 64-bit value (never dereferenced by C):
///   bit 63      always 1: never NULL, never a user-space address (so no
///               real pointer is mistaken for a handle, and Go's collector
///               never takes one for a pointer into its heap)
///   bits 62-33  generation of the slot (30 bits)
///   bits 32-2   slot index (31 bits)
///   bits 1-0    the registry's tag (clients 1, tasks 2)
/// Lookup is one lock and one array access.
final class HandleRegistry<Object: AnyObject & Sendable>: Sendable {
    private struct Slot {
        var generation: UInt64
        var object: Unmanaged<Object>?
    }

    private struct Table {
        var slots: [Slot] = []
        /// Free slot indices; the last freed is reused first.
        var free: [Int] = []
    }

    private static var marker: UInt64 { 1 << 63 }
    private static var generationShift: UInt64 { 33 }
    private static var generationMask: UInt64 { (1 << 30) - 1 }
    private static var indexShift: UInt64 { 2 }
    private static var indexMask: UInt64 { (1 << 31) - 1 }

    /// The low two bits of every handle of a registry.
    enum Tag: UInt64 { case client = 1, task = 2 }

    private let table = Locked(Table()) // a pthread lock: safe in a fork()ed child
    private let tag: UInt64

    init(_ tag: Tag) { self.tag = tag.rawValue }

    /// A new handle for `object` (retained until `release`); nil only when
    /// every slot index is in use.
    func register(_ object: Object) -> UnsafeMutableRawPointer? {
        let unmanaged = Unmanaged.passRetained(object)
        let handle: UInt64? = table.withLock { t in
            let index: Int
            if let reused = t.free.popLast() {
                index = reused
            } else {
                guard UInt64(t.slots.count) <= HandleRegistry.indexMask else { return nil }
                t.slots.append(Slot(generation: 0, object: nil))
                index = t.slots.count - 1
            }
            t.slots[index].object = unmanaged
            return encode(index: index, generation: t.slots[index].generation)
        }
        guard let handle else {
            unmanaged.release()
            return nil
        }
        return UnsafeMutableRawPointer(bitPattern: UInt(handle))
    }

    /// The object behind a live handle (a strong reference: it stays alive
    /// for the caller's use even if the handle is freed meanwhile).
    func lookup(_ pointer: UnsafeRawPointer?) -> Object? {
        guard let (index, generation) = decode(pointer) else { return nil }
        return table.withLock { t in
            guard index < t.slots.count, t.slots[index].generation == generation else { return nil }
            return t.slots[index].object?.takeUnretainedValue()
        }
    }

    /// Forgets a live handle and bumps its slot's generation; the object goes
    /// once nobody else uses it. A stale or foreign handle is ignored.
    func release(_ pointer: UnsafeMutableRawPointer?) {
        guard let (index, generation) = decode(UnsafeRawPointer(pointer)) else { return }
        let removed: Unmanaged<Object>? = table.withLock { t in
            guard index < t.slots.count, t.slots[index].generation == generation,
                  let object = t.slots[index].object else { return nil }
            t.slots[index].object = nil
            // A slot whose generation would wrap is retired, never reused.
            if generation < HandleRegistry.generationMask {
                t.slots[index].generation = generation + 1
                t.free.append(index)
            }
            return object
        }
        removed?.release() // outside the lock: deinit may run here
    }

    private func encode(index: Int, generation: UInt64) -> UInt64 {
        HandleRegistry.marker | (generation << HandleRegistry.generationShift)
            | (UInt64(index) << HandleRegistry.indexShift) | tag
    }

    private func decode(_ pointer: UnsafeRawPointer?) -> (index: Int, generation: UInt64)? {
        guard let pointer else { return nil }
        let value = UInt64(UInt(bitPattern: pointer))
        guard value & HandleRegistry.marker != 0, value & 3 == tag else { return nil }
        let index = Int((value >> HandleRegistry.indexShift) & HandleRegistry.indexMask)
        let generation = (value >> HandleRegistry.generationShift) & HandleRegistry.generationMask
        return (index, generation)
    }
}

let clients = HandleRegistry<ClientHandle>(.client)
let tasks = HandleRegistry<TaskHandle>(.task)
