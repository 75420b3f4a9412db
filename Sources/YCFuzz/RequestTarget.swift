import YCBGCore

/// `request`: the input is request_json, sent through
/// `ResponsesAPI.create` (validation and rewrite by `prepareCreateBody`) to a
/// transport that records the body, under a config with a folder id and one
/// without.
enum RequestTarget {
    static let name = "request"
    static let folder = "b1gfuzzfolder"
    static let baseURL = "https://llm.api.cloud.yandex.net/v1"

    static let withFolder = makeConfig(#"{"api_key": "\#(Secrets.planted)", "folder_id": "\#(folder)", "base_url": "\#(baseURL)"}"#)
    static let withoutFolder = makeConfig(#"{"iam_token": "\#(Secrets.planted)", "base_url": "\#(baseURL)"}"#)

    static func makeConfig(_ json: String) -> Configuration {
        do throws(YCError) {
            return try Configuration.parse(Array(json.utf8), environment: { _ in nil })
        } catch {
            violated(name, "the harness's own config is rejected: \(error.message)")
        }
    }

    static let queued = HTTPResponse(status: 200, headers: [("x-request-id", "req-fuzz")],
                                     body: Array(#"{"id": "resp_fuzz", "object": "response", "status": "queued"}"#.utf8))

    static func run(_ input: [UInt8]) {
        // What the outcome must be, worked out independently.
        let doc = try? JSON.parse(input, what: "request")
        for config in [withFolder, withoutFolder] {
            let context = config.folderID == nil ? "create without folder_id" : "create with folder_id"
            let expected: YCError.Kind?
            if let doc {
                let model = doc["model"]?.stringValue
                if doc.kind != .object { expected = .invalidArgument }
                else if doc["stream"]?.boolValue == true { expected = .invalidArgument }
                else if let model, !model.contains("://"), config.folderID == nil { expected = .config }
                else { expected = nil }
            } else {
                expected = .invalidJSON
            }

            let transport = CannedTransport(queued)
            let api = ResponsesAPI(config: config, transport: transport)
            do throws(YCError) {
                let answer = try api.create(requestJSON: input)
                if let expected { violated(name, "\(context): accepted a request that should fail with \(expected.rawValue)") }
                guard let doc else { violated(name, "\(context): unreachable") }
                if answer.object.id != "resp_fuzz" || answer.object.status != .queued {
                    violated(name, "\(context): the canned answer was misread")
                }
                guard transport.sent.count == 1, let sent = transport.sent.first, let body = sent.body else {
                    violated(name, "\(context): \(transport.sent.count) requests sent for one create")
                }
                checkSent(sent, config: config, context: context)
                checkBody(body, input: doc, config: config, context: context)
                // The rewrite is a fixpoint: preparing the prepared body changes nothing.
                let again = CannedTransport(queued)
                do throws(YCError) {
                    _ = try ResponsesAPI(config: config, transport: again).create(requestJSON: body)
                } catch {
                    violated(name, "\(context): the prepared body is rejected when sent again: \(excerpt(error.message))")
                }
                if again.sent.first?.body != body {
                    violated(name, "\(context): preparing the prepared body changed it")
                }
            } catch {
                checkError(error, target: name, allowed: [.invalidJSON, .invalidArgument, .config],
                           redactor: config.redactor, secrets: [Secrets.planted], context: context)
                if error.kind != expected {
                    violated(name, "\(context): failed with \(error.kind.rawValue), expected \(expected?.rawValue ?? "success"): \(excerpt(error.message))")
                }
                if error.kind == .invalidJSON && !(error.message.contains("line") && error.message.contains("column")) {
                    violated(name, "\(context): invalid_json without line and column: \(excerpt(error.message))")
                }
                if !transport.sent.isEmpty { violated(name, "\(context): a rejected request was sent") }
            }
        }
    }

    static func checkSent(_ r: HTTPRequest, config: Configuration, context: String) {
        if r.method != .post || r.url != baseURL + "/responses" {
            violated(name, "\(context): sent \(r.method.rawValue) \(r.url)")
        }
        guard let key = r.headers.first(where: { $0.name == "Idempotency-Key" })?.value, key.utf8.count == 36 else {
            violated(name, "\(context): create without an Idempotency-Key")
        }
        _ = key
        if !r.startsJob { violated(name, "\(context): a create the transport may resend on its own") }
        if r.headers.contains(where: { !isHeaderSafeText($0.name) || !isHeaderSafeText($0.value) }) {
            violated(name, "\(context): a header with control characters")
        }
    }

    static func checkBody(_ body: [UInt8], input: JSON, config: Configuration, context: String) {
        let out: JSON
        do throws(YCError) { out = try JSON.parse(body, what: "sent body") } catch {
            violated(name, "\(context): the body sent is not JSON: \(error.message)")
        }
        guard out.kind == .object else { violated(name, "\(context): the body sent is not an object") }
        if out["background"]?.kind != .true { violated(name, "\(context): background is not true in the body sent") }
        let inMembers = input.members, outMembers = out.members
        let added = input["background"] == nil ? 1 : 0
        if outMembers.count != inMembers.count + added {
            violated(name, "\(context): \(inMembers.count) keys became \(outMembers.count)")
        }
        for (key, value) in inMembers where key != "background" {
            guard let sent = out[key] else { violated(name, "\(context): key '\(excerpt(key, 40))' was dropped") }
            if key == "model", let model = value.stringValue {
                let want = model.contains("://") ? model : "gpt://\(config.folderID ?? "?")/\(model)"
                if sent.stringValue != want {
                    violated(name, "\(context): model '\(excerpt(model, 80))' sent as '\(excerpt(sent.stringValue ?? "(not a string)", 80))'")
                }
            } else if sent.serialized() != value.serialized() {
                violated(name, "\(context): key '\(excerpt(key, 40))' changed on the way")
            }
        }
    }
}
