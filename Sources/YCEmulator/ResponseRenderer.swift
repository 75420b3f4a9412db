// Builds the Response object (components.schemas.Response of the OpenAI OpenAPI file)
// for a stored response at a given moment. Every field the schema requires is present;
// the create's settings are echoed, with OpenAI's defaults where the create left them out.

enum ResponseRenderer {
    static func render(_ response: StoredResponse, at now: Nanos, includeOutputText: Bool) -> JSON {
        let status = response.status(at: now)
        let request = response.request
        let generation = response.generation
        // Output exists only once the work has ended as planned (not while running, not after a cancel).
        let text: String? = (status == .completed || status == .incomplete) ? generation.text : nil

        var object = JSONObject()
        object["id"] = .string(response.id)
        object["object"] = "response"
        object["created_at"] = JSON(response.createdAt)
        object["status"] = .string(status.rawValue)
        object["background"] = .bool(response.background)
        object["completed_at"] = status == .completed ? JSON(response.endsAt) : .null
        object["error"] = status == .failed
            ? ["code": "server_error", "message": "Emulated generation failure"]
            : .null
        if status == .incomplete, case .incomplete(let reason) = generation.end {
            object["incomplete_details"] = ["reason": .string(reason)]
        } else {
            object["incomplete_details"] = .null
        }
        object["instructions"] = echo(request, "instructions", default: .null)
        object["max_output_tokens"] = echo(request, "max_output_tokens", default: .null)
        object["max_tool_calls"] = echo(request, "max_tool_calls", default: .null)
        object["model"] = echo(request, "model", default: "")
        object["output"] = .array(text.map { [message(id: response.id, text: $0, status: status)] } ?? [])
        if includeOutputText && !response.omitOutputText {
            object["output_text"] = .string(text ?? "")
        }
        object["parallel_tool_calls"] = echo(request, "parallel_tool_calls", default: true)
        object["previous_response_id"] = echo(request, "previous_response_id", default: .null)
        object["prompt"] = echo(request, "prompt", default: .null)
        object["prompt_cache_key"] = echo(request, "prompt_cache_key", default: .null)
        object["reasoning"] = echo(request, "reasoning", default: .null)
        object["safety_identifier"] = echo(request, "safety_identifier", default: .null)
        object["service_tier"] = echo(request, "service_tier", default: "default")
        object["store"] = echo(request, "store", default: true)
        object["temperature"] = echo(request, "temperature", default: 1.0)
        object["text"] = echo(request, "text", default: ["format": ["type": "text"]])
        object["tool_choice"] = echo(request, "tool_choice", default: "auto")
        object["tools"] = tools(request["tools"])
        object["top_logprobs"] = echo(request, "top_logprobs", default: 0)
        object["top_p"] = echo(request, "top_p", default: 1.0)
        object["truncation"] = echo(request, "truncation", default: "disabled")
        if status.isTerminal {
            // Not sent at all before the end: the schema's ResponseUsage is an object and not nullable.
            object["usage"] = usage(generation, outputTokens: text == nil ? 0 : generation.outputTokens)
        }
        if let user = request["user"], !user.isNull { object["user"] = user }  // the schema does not allow null here
        object["metadata"] = echo(request, "metadata", default: [:])
        object["conversation"] = conversation(request["conversation"])
        return .object(object)
    }

    /// The create's value for `key`; its default when absent or null.
    private static func echo(_ request: JSONObject, _ key: String, default value: JSON) -> JSON {
        guard let given = request[key], !given.isNull else { return value }
        return given
    }

    /// Function tools come back with the fields OpenAI fills in (strict defaults to true); other tools as sent.
    private static func tools(_ value: JSON?) -> JSON {
        guard let value, !value.isNull else { return [] }
        guard let items = value.arrayValue else { return value }
        return .array(items.map { item in
            guard var tool = item.objectValue, tool["type"]?.stringValue == "function" else { return item }
            if tool["description"] == nil { tool["description"] = .null }
            if tool["parameters"] == nil { tool["parameters"] = .null }
            if tool["strict"] == nil { tool["strict"] = true }
            return .object(tool)
        })
    }

    /// The create may name a conversation by id or by object; the response always has an object.
    private static func conversation(_ value: JSON?) -> JSON {
        switch value {
        case .string(let id)?: return ["id": .string(id)]
        case .object(let object)? where object["id"]?.stringValue != nil: return ["id": object["id"]!]
        default: return .null
        }
    }

    /// One assistant message whose text is split over two output_text parts, so clients that
    /// concatenate parts (as the SDKs' `output_text` does) are exercised.
    private static func message(id: String, text: String, status: ResponseStatus) -> JSON {
        let (first, second) = splitInHalf(text)
        func part(_ s: String) -> JSON {
            ["type": "output_text", "text": .string(s), "annotations": [], "logprobs": []]
        }
        let messageID = "msg_" + id.filter { $0 != "-" }
        return ["id": .string(messageID), "type": "message", "role": "assistant",
                "status": status == .completed ? "completed" : "incomplete",
                "content": [part(first), part(second)]]
    }

    private static func usage(_ generation: Generation, outputTokens: Int) -> JSON {
        ["input_tokens": JSON(generation.inputTokens),
         "input_tokens_details": ["cached_tokens": 0, "cache_write_tokens": 0],
         "output_tokens": JSON(outputTokens),
         "output_tokens_details": ["reasoning_tokens": 0],
         "total_tokens": JSON(generation.inputTokens + outputTokens)]
    }
}
