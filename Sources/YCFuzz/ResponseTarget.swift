import YCBGCore

/// `response`: the input is the body of a 2xx answer, read by
/// `ResponseObject.parse` directly and as the first answer of a task made by
/// a `Client` (whose `result()` is what yc_result hands out).
enum ResponseTarget {
    static let name = "response"
    static let config = RequestTarget.withFolder
    static let headers: [(name: String, value: String)] = [("x-request-id", "req-fuzz"), ("content-type", "application/json")]
    static let knownStatuses: Set<String> = ["queued", "in_progress", "completed", "failed", "cancelled", "incomplete"]

    static func run(_ input: [UInt8]) {
        let body = Secrets.plant(input)
        let response = HTTPResponse(status: 200, headers: headers, body: body)
        let direct: Result<ResponseObject, YCError>
        do throws(YCError) {
            let r = try ResponseObject.parse(response)
            checkObject(r)
            direct = .success(r)
        } catch {
            checkError(error, target: name, allowed: [.protocol, .api], redactor: config.redactor,
                       secrets: [Secrets.planted], context: "ResponseObject.parse")
            if error.httpStatus != 200 || error.requestID != "req-fuzz" {
                violated(name, "parse error lost the HTTP status or request id")
            }
            direct = .failure(error)
        }

        // The same answer as the first answer of a background task.
        let client = Client(config: config, transport: CannedTransport(response))
        do throws(YCError) {
            let task = try client.createBackground(requestJSON: Array(#"{"model": "yandexgpt", "input": "hi"}"#.utf8))
            guard case .success(let r) = direct else { violated(name, "the client accepted what parse rejected") }
            if task.id != r.id || task.status != r.status || task.outputText != r.outputText {
                violated(name, "the task does not hold what parse read")
            }
            checkResult(task.result(), r)
        } catch {
            guard case .failure(let e) = direct, e.kind == error.kind, e.message == error.message else {
                violated(name, "the client and parse disagree: \(excerpt(error.message))")
            }
        }
    }

    static func checkObject(_ r: ResponseObject) {
        if r.id.isEmpty || r.id.utf8.count > 1024 || !isHeaderSafeText(r.id) {
            violated(name, "accepted an unusable id '\(excerpt(r.id))'")
        }
        if !knownStatuses.contains(r.status.name) { violated(name, "accepted status \(r.status.name)") }
        guard r.json.kind == .object, r.json["id"]?.stringValue == r.id, r.json["status"]?.stringValue == r.status.name else {
            violated(name, "the parsed object does not match its JSON")
        }
        if let text = r.json.nonNull("output_text")?.stringValue, text != r.outputText {
            violated(name, "output_text differs from the server's output_text")
        }
        if !roundTripsThroughJSON(r.outputText) { violated(name, "output_text does not survive JSON") }
        if r.outputText.utf8.count > r.json.serialized().utf8.count {
            violated(name, "output_text is longer than the whole response")
        }
        let shouldHaveError = r.status == .failed || r.status == .incomplete
        if shouldHaveError != (r.generationError != nil) {
            violated(name, "status \(r.status.name) with generationError \(r.generationError == nil ? "nil" : "set")")
        }
        if let g = r.generationError {
            checkError(g, target: name, allowed: [.generation], redactor: config.redactor,
                       secrets: [Secrets.planted], context: "generation error")
        }
        if let usage = r.usage, usage.isNull { violated(name, "usage is JSON null") }
    }

    static func checkResult(_ result: JSON, _ r: ResponseObject) {
        let text = result.serialized()
        let back: JSON
        do throws(YCError) { back = try JSON.parse(text, what: "result") } catch {
            violated(name, "yc_result's document does not parse back: \(error.message)")
        }
        guard back.kind == .object, back["id"]?.stringValue == r.id, back["status"]?.stringValue == r.status.name,
              back["output_text"]?.stringValue == r.outputText, back["response"]?.kind == .object,
              let usage = back["usage"], let error = back["error"] else {
            violated(name, "yc_result's document lacks a field or disagrees: \(excerpt(text))")
        }
        if usage.kind != (r.usage?.kind ?? .null) { violated(name, "yc_result's usage differs") }
        if (r.generationError == nil) != error.isNull { violated(name, "yc_result's error disagrees with the status") }
        if error.kind == .object {
            for key in ["message", "code"] {
                if let s = error[key]?.stringValue, leaks(s, Secrets.planted) {
                    violated(name, "the credential appears unmasked in yc_result's error.\(key)")
                }
            }
            if error["kind"]?.stringValue != "generation" { violated(name, "yc_result's error kind is not generation") }
        }
    }
}
