import Glibc
import Synchronization

/// Where a client's engine lives: one per process, made on first use. After
/// fork() the child's first call makes a new one (its own thread, event fd
/// and connections) and leaves the parent's untouched: the inherited engine
/// is abandoned, never cleaned up, since that could talk on the parent's
/// connections.
public final class EngineHost: Sendable {
    let config: Configuration
    private let slot: Locked<(pid: pid_t, engine: Engine?, eventsOn: Bool)>

    init(config: Configuration) {
        self.config = config
        self.slot = Locked((getpid(), nil, true))
    }

    deinit {
        let engine = slot.withLock { $0.pid == getpid() ? $0.engine : nil }
        engine?.shutdown()
    }

    /// This process's engine; nil only if libcurl cannot make a multi handle.
    func engine() -> Engine? {
        slot.withLock { s in
            let pid = getpid()
            if s.pid != pid {
                if let inherited = s.engine { _ = Unmanaged.passRetained(inherited) } // abandoned
                s = (pid, nil, s.eventsOn)
            }
            if s.engine == nil {
                s.engine = Engine(config: config)
                if !s.eventsOn { s.engine?.events.disable() }
            }
            return s.engine
        }
    }

    /// The client's handle was freed: no more events.
    func stopEvents() {
        let engine = slot.withLock { s -> Engine? in
            s.eventsOn = false
            return s.pid == getpid() ? s.engine : nil
        }
        engine?.events.disable()
    }

    var eventsOn: Bool { slot.withLock { $0.eventsOn } }
}

/// The Transport of a client with an engine: each request is handed to the
/// I/O thread and the calling thread waits for its answer.
struct EngineTransport: Transport {
    let host: EngineHost

    func perform(_ request: HTTPRequest, maxResponseBytes: Int) -> Result<HTTPResponse, TransportFailure> {
        guard let engine = host.engine() else {
            return .failure(TransportFailure(YCError(.network, "libcurl could not make a multi handle"), requestNotSent: true))
        }
        return engine.perform(request)
    }
}
