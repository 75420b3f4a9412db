// The control endpoints under /_emulator: no auth, never faulted, never recorded.

struct ControlEndpoints: Sendable {
    let state: EmulatorState

    func answer(_ request: HTTPRequest) -> HTTPAnswer {
        let method = request.method.rawValue
        do {
            switch (request.path, method) {
            case ("/_emulator/faults", "POST"): return try addFaults(request)
            case ("/_emulator/faults", "DELETE"):
                state.clearFaults()
                return ok(["faults": 0])
            case ("/_emulator/reset", "POST"):
                state.reset()
                return ok(["reset": true])
            case ("/_emulator/settings", "POST"): return try updateSettings(request)
            case ("/_emulator/stats", "GET"): return ok(state.statsJSON())
            case ("/_emulator/requests", "GET"): return try requests(request)
            case ("/_emulator/faults", _): return notAllowed(request, allow: "POST, DELETE")
            case ("/_emulator/reset", _), ("/_emulator/settings", _): return notAllowed(request, allow: "POST")
            case ("/_emulator/stats", _), ("/_emulator/requests", _): return notAllowed(request, allow: "GET")
            default: return APIError.unknownURL(request).answer
            }
        } catch {
            return error.answer
        }
    }

    private func ok(_ json: JSON) -> HTTPAnswer { HTTPAnswer(status: 200, json: json) }

    private func notAllowed(_ request: HTTPRequest, allow: String) -> HTTPAnswer {
        var answer = APIError.methodNotAllowed(request).answer
        answer.headers.append(("Allow", allow))
        return answer
    }

    private func body(_ request: HTTPRequest, emptyAs empty: JSON?) throws(APIError) -> JSON {
        if request.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }), let empty {
            return empty
        }
        do {
            return try JSONParser.parse(request.body)
        } catch {
            throw .invalidRequest("The body is not valid JSON (\(error)).", code: "invalid_json")
        }
    }

    /// One fault object or an array of them; all are checked before any is added.
    private func addFaults(_ request: HTTPRequest) throws(APIError) -> HTTPAnswer {
        let json = try body(request, emptyAs: nil)
        var faults: [Fault] = []
        if let items = json.arrayValue {
            for (i, item) in items.enumerated() {
                do {
                    faults.append(try Fault.parse(item))
                } catch {
                    var error = error
                    error.message = "fault [\(i)]: " + error.message
                    throw error
                }
            }
        } else {
            faults.append(try Fault.parse(json))
        }
        return ok(["added": JSON(faults.count), "faults": JSON(state.addFaults(faults))])
    }

    private func updateSettings(_ request: HTTPRequest) throws(APIError) -> HTTPAnswer {
        let json = try body(request, emptyAs: [:])
        guard let object = json.objectValue else {
            throw .invalidRequest("Settings must be a JSON object.")
        }
        let known: Set<String> = ["queue_ms", "work_ms", "poll_after_ms", "output_text", "rtt_ms", "connect_ms",
                                  "quota_create_rps", "quota_poll_rps", "quota_cancel_rps", "quota_burst"]
        if let unknown = object.keys.first(where: { !known.contains($0) }) {
            throw .invalidRequest("Unknown setting '\(unknown)'.", param: unknown)
        }
        func duration(_ key: String) throws(APIError) -> Int? {
            guard let value = object[key] else { return nil }
            guard let n = value.intValue, (0...Directives.maxDurationMs).contains(n) else {
                throw .invalidRequest("Setting '\(key)' must be an integer from 0 to \(Directives.maxDurationMs).",
                                      param: key)
            }
            return n
        }
        /// A key that may be null: .some(nil) clears the setting.
        func nullable<T>(_ key: String, _ parse: (String) throws(APIError) -> T?) throws(APIError) -> T?? {
            guard let value = object[key] else { return nil }
            return value.isNull ? .some(nil) : .some(try parse(key))
        }
        func rate(_ key: String) throws(APIError) -> Double? {
            guard let value = object[key] else { return nil }
            guard let r = value.numberValue, r > 0, r <= Settings.maxRps else {
                throw .invalidRequest("Setting '\(key)' must be a number above 0 and at most 1000000, or null.",
                                      param: key)
            }
            return r
        }
        func burst(_ key: String) throws(APIError) -> Int? {
            guard let value = object[key] else { return nil }
            guard let n = value.intValue, (1...Settings.maxBurst).contains(n) else {
                throw .invalidRequest("Setting '\(key)' must be an integer from 1 to \(Settings.maxBurst), or null.",
                                      param: key)
            }
            return n
        }
        // Check everything first, then apply all at once.
        let queueMs = try duration("queue_ms")
        let workMs = try duration("work_ms")
        let rttMs = try duration("rtt_ms")
        let pollAfter = try nullable("poll_after_ms", duration)
        let connectMs = try nullable("connect_ms", duration)
        let createRps = try nullable("quota_create_rps", rate)
        let pollRps = try nullable("quota_poll_rps", rate)
        let cancelRps = try nullable("quota_cancel_rps", rate)
        let quotaBurst = try nullable("quota_burst", burst)
        var outputText: Bool? = nil
        if let value = object["output_text"] {
            guard let b = value.boolValue else {
                throw .invalidRequest("Setting 'output_text' must be a boolean.", param: "output_text")
            }
            outputText = b
        }
        let settings = state.updateSettings { s in
            if let queueMs { s.queueMs = queueMs }
            if let workMs { s.workMs = workMs }
            if let pollAfter { s.pollAfterMs = pollAfter }
            if let outputText { s.outputText = outputText }
            if let rttMs { s.rttMs = rttMs }
            if let connectMs { s.connectMs = connectMs }
            if let createRps { s.quotaCreateRps = createRps }
            if let pollRps { s.quotaPollRps = pollRps }
            if let cancelRps { s.quotaCancelRps = cancelRps }
            if let quotaBurst { s.quotaBurst = quotaBurst }
        }
        return ok(settings.json)
    }

    private func requests(_ request: HTTPRequest) throws(APIError) -> HTTPAnswer {
        var limit = 100
        if let text = request.query("limit") {
            guard let n = Int(text), n >= 0 else {
                throw .invalidRequest("'limit' must be a non-negative integer.", param: "limit")
            }
            limit = min(n, RequestLog.capacity)
        }
        return ok(.array(state.recentRequests(limit: limit).map(\.json)))
    }
}
