import CYCShim
import Glibc
import YCBGCore

// The C ABI of include/ycbg.h: convert handles, validate arguments, turn
// Swift errors into error JSON. Everything else lives in YCBGCore.

// Static strings, made once and never freed or written.
nonisolated(unsafe) private let versionCString: UnsafeMutablePointer<CChar> = strdup(Version.string)!
nonisolated(unsafe) private let statusNames: [UnsafeMutablePointer<CChar>] =
    ["error", "queued", "in_progress", "completed", "failed", "cancelled", "incomplete", "unknown"].map { (name: String) in strdup(name)! }

@_cdecl("yc_version")
public func yc_version() -> UnsafePointer<CChar> {
    UnsafePointer(versionCString)
}

@_cdecl("yc_status_name")
public func yc_status_name(_ status: Int32) -> UnsafePointer<CChar> {
    guard let s = TaskStatus(rawValue: status) else { return UnsafePointer(statusNames[7]) }
    return UnsafePointer(statusNames[Int(s.rawValue) + 1])
}

@_cdecl("yc_free")
public func yc_free(_ pointer: UnsafeMutableRawPointer?) {
    free(pointer)
}

@_cdecl("yc_client_new")
public func yc_client_new(_ configJSON: UnsafePointer<CChar>?,
                          _ errorJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> UnsafeMutableRawPointer? {
    errorJSON?.pointee = nil
    let config = configJSON.map(bytes)
    do throws(YCError) {
        let client = try Client(configJSON: config)
        guard let handle = clients.register(ClientHandle(client)) else { throw YCError.outOfHandles }
        return handle
    } catch {
        guard errorJSON != nil else { return nil }
        report(error, to: errorJSON, redactor: Configuration.candidateRedactor(config))
        return nil
    }
}

@_cdecl("yc_client_free")
public func yc_client_free(_ client: UnsafeMutableRawPointer?) {
    clients.lookup(client)?.client.stopEvents()
    clients.release(client)
}

@_cdecl("yc_create_background")
public func yc_create_background(_ client: UnsafeMutableRawPointer?, _ requestJSON: UnsafePointer<CChar>?,
                                 _ errorJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> UnsafeMutableRawPointer? {
    makeTask("yc_create_background", client, requestJSON, argumentName: "request_json", errorJSON) { client, text throws(YCError) in
        try client.createBackground(requestJSON: bytes(text))
    }
}

@_cdecl("yc_attach")
public func yc_attach(_ client: UnsafeMutableRawPointer?, _ responseID: UnsafePointer<CChar>?,
                      _ errorJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> UnsafeMutableRawPointer? {
    makeTask("yc_attach", client, responseID, argumentName: "response_id", errorJSON) { client, text throws(YCError) in
        guard let id = String(validatingCString: text) else {
            throw YCError(.invalidArgument, "yc_attach: response_id is not valid UTF-8")
        }
        return try client.attach(responseID: id)
    }
}

@_cdecl("yc_task_id")
public func yc_task_id(_ task: UnsafeRawPointer?) -> UnsafePointer<CChar>? {
    tasks.lookup(task)?.task.idCString
}

@_cdecl("yc_poll")
public func yc_poll(_ task: UnsafeMutableRawPointer?) -> Int32 {
    tasks.lookup(task)?.task.poll().rawValue ?? TaskStatus.error.rawValue
}

@_cdecl("yc_wait")
public func yc_wait(_ task: UnsafeMutableRawPointer?, _ timeoutMs: Int) -> Int32 {
    tasks.lookup(task)?.task.wait(timeoutMs: timeoutMs).rawValue ?? TaskStatus.error.rawValue
}

@_cdecl("yc_cancel")
public func yc_cancel(_ task: UnsafeMutableRawPointer?) -> Int32 {
    tasks.lookup(task)?.task.cancel().rawValue ?? TaskStatus.error.rawValue
}

@_cdecl("yc_poll_ex")
public func yc_poll_ex(_ task: UnsafeMutableRawPointer?,
                       _ errorJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    taskCall("yc_poll_ex", task, errorJSON) { $0.pollEx() }
}

@_cdecl("yc_wait_ex")
public func yc_wait_ex(_ task: UnsafeMutableRawPointer?, _ timeoutMs: Int,
                       _ errorJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    taskCall("yc_wait_ex", task, errorJSON) { $0.waitEx(timeoutMs: timeoutMs) }
}

@_cdecl("yc_cancel_ex")
public func yc_cancel_ex(_ task: UnsafeMutableRawPointer?,
                         _ errorJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    taskCall("yc_cancel_ex", task, errorJSON) { $0.cancelEx() }
}

@_cdecl("yc_submit")
public func yc_submit(_ client: UnsafeMutableRawPointer?, _ requestJSON: UnsafePointer<CChar>?, _ tag: UInt64,
                      _ errorJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> UnsafeMutableRawPointer? {
    var body: [UInt8] = []
    return makeTask("yc_submit", client, requestJSON, argumentName: "request_json", errorJSON, { client, text throws(YCError) in
        let prepared = try client.prepareSubmit(requestJSON: bytes(text))
        body = prepared.body
        return prepared.task
    }, started: { client, task, pointer throws(YCError) in
        guard client.drive(task, tag: tag, token: UInt(bitPattern: pointer), createBody: body) else {
            throw YCError(.network, "yc_submit: the client's I/O thread could not be started")
        }
    })
}

@_cdecl("yc_watch")
public func yc_watch(_ task: UnsafeMutableRawPointer?, _ tag: UInt64) -> Int32 {
    guard let task, let handle = tasks.lookup(task) else { return -1 }
    return handle.task.client.drive(handle.task, tag: tag, token: UInt(bitPattern: task)) ? 0 : -1
}

@_cdecl("yc_client_fd")
public func yc_client_fd(_ client: UnsafeMutableRawPointer?) -> Int32 {
    clients.lookup(client)?.client.eventFD ?? -1
}

@_cdecl("yc_next_events")
public func yc_next_events(_ client: UnsafeMutableRawPointer?, _ events: UnsafeMutablePointer<ycs_event>?,
                           _ maxEvents: Int32, _ timeoutMs: Int) -> Int32 {
    guard let handle = clients.lookup(client), let events, maxEvents > 0 else { return -1 }
    let until: Int64? = timeoutMs < 0 ? nil : Clock.nowMs().addingSaturated(Int64(timeoutMs))
    var stored = 0
    while stored == 0 {
        let left = until.map { max(0, $0 - Clock.nowMs()) }
        if let left, left == 0 && timeoutMs != 0 { break }
        let batch = handle.client.nextEvents(max: Int(maxEvents), timeoutMs: left.map { Int($0) } ?? -1)
        if batch.isEmpty { break }
        for event in batch {
            // Events of a task whose handle was freed meanwhile are dropped.
            guard let owner = tasks.lookup(UnsafeRawPointer(bitPattern: event.token)), owner.task === event.task else {
                continue
            }
            let error = event.error.flatMap { handle.client.redactor.exported($0.json(redactedBy: handle.client.redactor)) }
            events[stored] = ycs_event(task: UnsafeMutableRawPointer(bitPattern: event.token), tag: event.tag,
                                       status: event.status.rawValue, error_json: error)
            stored += 1
        }
        if timeoutMs == 0 { break }
    }
    return Int32(stored)
}

@_cdecl("yc_result")
public func yc_result(_ task: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<CChar>? {
    guard let handle = tasks.lookup(task) else { return nil }
    return handle.task.client.redactor.exported(handle.task.result())
}

@_cdecl("yc_output_text")
public func yc_output_text(_ task: UnsafeMutableRawPointer?) -> UnsafeMutablePointer<CChar>? {
    outputTextCopy(task, nil)
}

@_cdecl("yc_output_text_len")
public func yc_output_text_len(_ task: UnsafeMutableRawPointer?,
                               _ length: UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<CChar>? {
    outputTextCopy(task, length)
}

@_cdecl("yc_task_free")
public func yc_task_free(_ task: UnsafeMutableRawPointer?) {
    tasks.lookup(task)?.task.handleReleased()
    tasks.release(task)
}

// MARK: - Helpers

extension YCError {
    /// Every slot of a handle table is in use (about two billion live handles).
    static var outOfHandles: YCError { YCError(.invalidArgument, "too many live handles: free some first") }
}

/// The shared shape of the _ex calls: the status, and this call's error.
private func taskCall(_ function: String, _ task: UnsafeMutableRawPointer?,
                      _ errorJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ call: (BackgroundTask) -> (status: TaskStatus, error: YCError?)) -> Int32 {
    errorJSON?.pointee = nil
    guard let handle = tasks.lookup(task) else {
        report(YCError(.invalidArgument, "\(function): task is NULL or not a live yc_task"), to: errorJSON, redactor: nil)
        return TaskStatus.error.rawValue
    }
    let (status, error) = call(handle.task)
    if status == .error {
        report(error ?? YCError(.protocol, "\(function) failed"), to: errorJSON, redactor: handle.task.client.redactor)
    }
    return status.rawValue
}

/// The shared shape of the task constructors: check the handle and the
/// argument, run `make`, register the task, run `started` with its handle
/// (a failure there frees the handle again), or report the error.
private func makeTask(_ function: String, _ client: UnsafeMutableRawPointer?, _ argument: UnsafePointer<CChar>?,
                      argumentName: String, _ errorJSON: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                      _ make: (Client, UnsafePointer<CChar>) throws(YCError) -> BackgroundTask,
                      started: (Client, BackgroundTask, UnsafeMutableRawPointer) throws(YCError) -> Void = { _, _, _ in })
    -> UnsafeMutableRawPointer? {
    errorJSON?.pointee = nil
    guard let handle = clients.lookup(client) else {
        report(YCError(.invalidArgument, "\(function): client is NULL or not a live yc_client"), to: errorJSON, redactor: nil)
        return nil
    }
    guard let argument else {
        report(YCError(.invalidArgument, "\(function): \(argumentName) is NULL"), to: errorJSON, redactor: nil)
        return nil
    }
    do throws(YCError) {
        let task = try make(handle.client, argument)
        guard let pointer = tasks.register(TaskHandle(task)) else { throw YCError.outOfHandles }
        do throws(YCError) {
            try started(handle.client, task, pointer)
        } catch {
            tasks.release(pointer)
            throw error
        }
        return pointer
    } catch {
        report(error, to: errorJSON, redactor: handle.client.redactor)
        return nil
    }
}

/// The bytes of a C string as given: JSON text goes to Jansson unchanged, so
/// invalid UTF-8 is reported rather than silently repaired.
private func bytes(_ text: UnsafePointer<CChar>) -> [UInt8] {
    Array(UnsafeRawBufferPointer(start: text, count: strlen(text)))
}

/// Stores `error` as JSON in `*out` (when the caller asked for it), through
/// the redactor's exit: NULL when memory ran out, never unmasked text.
private func report(_ error: YCError, to out: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
                    redactor: Redactor?) {
    guard let out else { return }
    let redactor = redactor ?? Redactor(secrets: [])
    out.pointee = redactor.exported(error.json(redactedBy: redactor))
}

/// The task's output text through the redactor's exit: all its bytes (NULs
/// inside included) and a terminator; `*length` (when given) receives the
/// byte count without the terminator, 0 on failure.
private func outputTextCopy(_ task: UnsafeMutableRawPointer?,
                            _ length: UnsafeMutablePointer<Int>?) -> UnsafeMutablePointer<CChar>? {
    length?.pointee = 0
    guard let handle = tasks.lookup(task) else { return nil }
    return handle.task.client.redactor.exported(handle.task.outputText, length: length)
}
