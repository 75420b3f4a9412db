// Validation of POST /v1/responses bodies, in the order docs/emulator.md lists the checks.

/// A create request that passed validation.
struct CreateRequest: Sendable {
    let body: JSONObject
    let model: String
    let background: Bool
    let inputText: String
    let maxOutputTokens: Int?
    let directives: Directives
}

enum CreateValidation {
    /// The top-level fields of the OpenAPI CreateResponse schema; anything else is rejected like OpenAI does.
    static let knownFields: Set<String> = [
        "metadata", "top_logprobs", "temperature", "top_p", "user", "safety_identifier", "prompt_cache_key",
        "prompt_cache_retention", "prompt_cache_options", "previous_response_id", "model", "background",
        "max_tool_calls", "text", "tools", "tool_choice", "prompt", "service_tier", "truncation", "reasoning",
        "input", "include", "parallel_tool_calls", "store", "instructions", "moderation", "stream",
        "stream_options", "conversation", "context_management", "max_output_tokens",
    ]

    static func validate(body bytes: [UInt8], project: String?) throws(APIError) -> CreateRequest {
        let parsed: JSON
        do {
            parsed = try JSONParser.parse(bytes)
        } catch {
            throw .invalidRequest(
                "We could not parse the JSON body of your request (\(error)). The body must be a JSON object.",
                code: "invalid_json")
        }
        guard let body = parsed.objectValue else {
            throw .invalidRequest("The request body must be a JSON object, got \(parsed.typeName).", code: "invalid_json")
        }

        guard let modelValue = body["model"] else { throw .missing("model") }
        guard let model = modelValue.stringValue else { throw .invalidType("model", expected: "a string", got: modelValue) }
        guard let folder = folder(ofModelURI: model) else {
            throw .invalidRequest("Invalid model '\(model)': expected gpt://<folder>/<model>[/<version>].",
                                  param: "model", code: "invalid_model")
        }
        if let project, !project.isEmpty, project != folder {
            throw .invalidRequest("The OpenAI-Project folder '\(project)' does not match the model's folder '\(folder)'.",
                                  param: "model", code: "folder_mismatch")
        }

        let input = body["input"]
        switch input {
        case nil, .null?:
            if body["prompt"] == nil || body["prompt"]!.isNull { throw .missing("input") }
        case .string?: break
        case .array(let items)?:
            for (i, item) in items.enumerated() where item.objectValue == nil {
                throw .invalidType("input[\(i)]", expected: "an object", got: item)
            }
        case let other?:
            throw .invalidType("input", expected: "a string or an array of input items", got: other)
        }

        if let unknown = body.keys.first(where: { !knownFields.contains($0) }) {
            throw .invalidRequest("Unrecognized request argument supplied: \(unknown)", param: unknown,
                                  code: "unknown_parameter")
        }

        let stream = try optionalBool(body, "stream")
        if stream == true {
            throw .invalidRequest("Streaming (stream: true) is not emulated.", param: "stream", code: "unsupported_parameter")
        }
        let background = try optionalBool(body, "background") ?? false
        let store = try optionalBool(body, "store") ?? true
        if background && !store {
            throw .invalidRequest("Background responses require store=true.", param: "store", code: "invalid_value")
        }

        if let temperature = body["temperature"], !temperature.isNull {
            guard let t = temperature.numberValue else {
                throw .invalidType("temperature", expected: "a number", got: temperature)
            }
            guard (0...2).contains(t) else {
                throw .invalidRequest("Invalid 'temperature': \(t) is not between 0 and 2.", param: "temperature",
                                      code: "invalid_value")
            }
        }

        var maxOutputTokens: Int? = nil
        if let value = body["max_output_tokens"], !value.isNull {
            guard let n = value.intValue, n > 0 else {
                throw .invalidRequest("Invalid 'max_output_tokens': expected a positive integer.",
                                      param: "max_output_tokens", code: "invalid_value")
            }
            maxOutputTokens = n
        }

        var metadata: [(String, String)] = []
        if let value = body["metadata"], !value.isNull {
            guard let object = value.objectValue else {
                throw .invalidType("metadata", expected: "an object of strings", got: value)
            }
            for (key, item) in object.pairs {
                guard let s = item.stringValue else {
                    throw .invalidType("metadata.\(key)", expected: "a string", got: item)
                }
                metadata.append((key, s))
            }
        }
        let directives = try Directives.parse(metadata)

        return CreateRequest(body: body, model: model, background: background, inputText: InputText.of(input),
                             maxOutputTokens: maxOutputTokens, directives: directives)
    }

    /// The folder of `gpt://<folder>/<model>[/<version>]`, or nil when `uri` is not of that form.
    static func folder(ofModelURI uri: String) -> String? {
        guard uri.hasPrefix("gpt://") else { return nil }
        let parts = uri.dropFirst("gpt://".count).split(separator: "/", omittingEmptySubsequences: false)
        guard (2...3).contains(parts.count),
              parts.allSatisfy({ !$0.isEmpty && !$0.contains(where: { $0.isWhitespace }) })
        else { return nil }
        return String(parts[0])
    }

    private static func optionalBool(_ body: JSONObject, _ key: String) throws(APIError) -> Bool? {
        guard let value = body[key], !value.isNull else { return nil }
        guard let b = value.boolValue else { throw .invalidType(key, expected: "a boolean", got: value) }
        return b
    }
}
