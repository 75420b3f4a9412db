import ArgumentParser
import Glibc
import YCBGCore

/// What a create request is made of, from flags: a whole request document
/// (`--request-json`) and the keys people set most often, which override it.
/// Shared by every command that creates jobs.
struct RequestOptions: ParsableArguments {
    @Option(help: ArgumentHelp(
        "The model: a short name, expanded to gpt://<folder-id>/<name>, or a full gpt:// URI (default: \(defaultModel)).",
        valueName: "name"))
    var model: String?

    @Option(help: ArgumentHelp("System instructions for the model.", valueName: "text"))
    var instructions: String?

    @Option(help: ArgumentHelp("The most tokens the answer may have.", valueName: "n"))
    var maxOutputTokens: Int?

    @Option(help: ArgumentHelp("Sampling temperature.", valueName: "t"))
    var temperature: Double?

    @Option(name: .customLong("request-json"), help: ArgumentHelp(
        "The whole Responses API request, as JSON text or @FILE; the flags above override its keys.",
        valueName: "json"))
    var requestJSON: String?

    func validate() throws {
        if let maxOutputTokens, maxOutputTokens < 1 {
            throw ValidationError("--max-output-tokens must be at least 1")
        }
        if let temperature, !(temperature.isFinite && temperature >= 0) {
            throw ValidationError("--temperature must be a number from 0 up")
        }
    }

    /// Whether `--request-json` is read from standard input (`@-`).
    var requestFromStdin: Bool { requestJSON == "@-" }

    /// The `--request-json` document (an empty object without it).
    func baseRequest() throws -> JSON {
        guard let requestJSON else { return JSON.object() }
        let bytes: [UInt8]
        let what: String
        if requestJSON.hasPrefix("@") {
            let path = String(requestJSON.dropFirst())
            bytes = try readFile(path, what: "--request-json")
            what = "--request-json \(requestJSON)"
        } else {
            bytes = Array(requestJSON.utf8)
            what = "--request-json"
        }
        let doc: JSON
        do {
            doc = try JSON.parse(bytes, what: what)
        } catch {
            throw CLIFailure(.usage, error.message)
        }
        guard doc.kind == .object else { throw CLIFailure(.usage, "\(what): not a JSON object (a Responses API request)") }
        return doc
    }

    /// Sets the flags' keys on `request`. `--model` replaces the request's
    /// model when `modelOverrides`, else only fills it in; a request left
    /// without a model gets `defaultModel`.
    func apply(to request: JSON, modelOverrides: Bool = true) {
        if let model, modelOverrides || request["model"] == nil { request.set("model", .string(model)) }
        if request["model"] == nil { request.set("model", .string(defaultModel)) }
        if let instructions { request.set("instructions", .string(instructions)) }
        if let maxOutputTokens { request.set("max_output_tokens", .integer(maxOutputTokens)) }
        if let temperature { request.set("temperature", .number(temperature)) }
    }
}

/// Where a single job's prompt comes from: an argument, `-f FILE`, or
/// standard input.
struct PromptOptions: ParsableArguments {
    @Argument(help: ArgumentHelp(
        "The prompt; \"-\" reads it from standard input, as does no prompt with standard input not a terminal.",
        valueName: "prompt"))
    var prompt: String?

    @Option(name: [.customShort("f"), .customLong("file")], help: ArgumentHelp(
        "Read the prompt from a file.", valueName: "file"))
    var file: String?

    func validate() throws {
        if prompt != nil && file != nil {
            throw ValidationError("give the prompt either as an argument or with -f, not both")
        }
    }

    /// The prompt, with trailing newlines removed when read from a file or
    /// standard input; nil when there is none and `request` already has an
    /// `input` of its own.
    func text(for options: RequestOptions, request: JSON) throws -> String? {
        let source: (path: String, what: String)
        if let prompt, prompt != "-" {
            return prompt
        } else if let file {
            source = (file, "-f")
        } else if prompt == "-" || (request["input"] == nil && isatty(STDIN_FILENO) == 0) {
            source = ("-", "standard input")
        } else if request["input"] != nil {
            return nil
        } else {
            throw CLIFailure(.usage, "no prompt: give it as an argument, with -f FILE, or on standard input")
        }
        if source.path == "-" && options.requestFromStdin {
            throw CLIFailure(.usage, "--request-json @- and the prompt cannot both come from standard input")
        }
        let bytes = try readFile(source.path, what: source.what)
        guard var text = String(validating: bytes, as: UTF8.self) else {
            throw CLIFailure(.usage, "the prompt from \(source.path == "-" ? "standard input" : source.path) is not UTF-8 text")
        }
        while let last = text.unicodeScalars.last, last == "\n" || last == "\r" { text.unicodeScalars.removeLast() }
        return text
    }

    /// The request body for one job: `--request-json`, the prompt as its
    /// `input`, the flags on top. Reads the prompt's file or standard input.
    func requestBody(_ options: RequestOptions) throws -> JSON {
        let request = try options.baseRequest()
        if let input = try text(for: options, request: request) { request.set("input", .string(input)) }
        guard let input = request["input"], input.stringValue.map({ !$0.isEmpty }) ?? true else {
            throw CLIFailure(.usage, "the prompt is empty")
        }
        options.apply(to: request)
        return request
    }
}
