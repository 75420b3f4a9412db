// The deterministic "model": what text a response ends with, how it is cut, and its usage.
// Everything here is decided once, at create time, so every later retrieve agrees.

/// How a response ends (the `emulator_outcome` directive).
enum Outcome: String, Sendable, CaseIterable {
    case completed, failed, incomplete
    case contentFilter = "content_filter"
}

/// Per-request directives taken from the create's `metadata`.
struct Directives: Sendable {
    static let maxOutputBytes = 64 << 20  // keeps a single directive from exhausting memory
    static let maxDurationMs = 86_400_000

    var outcome: Outcome = .completed
    var outputText: String? = nil
    var outputBytes: Int? = nil
    var queueMs: Int? = nil
    var workMs: Int? = nil
    var omitOutputText = false

    static func parse(_ metadata: [(String, String)]) throws(APIError) -> Directives {
        var directives = Directives()
        for (key, value) in metadata where key.hasPrefix("emulator_") {
            let param = "metadata.\(key)"
            func count(max: Int) throws(APIError) -> Int {
                guard let n = Int(value), n >= 0, n <= max else {
                    throw .invalidRequest("'\(param)' must be an integer from 0 to \(max), got '\(value)'.",
                                          param: param, code: "invalid_value")
                }
                return n
            }
            switch key {
            case "emulator_outcome":
                guard let outcome = Outcome(rawValue: value) else {
                    let allowed = Outcome.allCases.map(\.rawValue).joined(separator: ", ")
                    throw .invalidRequest("'\(param)' must be one of \(allowed), got '\(value)'.",
                                          param: param, code: "invalid_value")
                }
                directives.outcome = outcome
            case "emulator_output_text": directives.outputText = value
            case "emulator_output_bytes": directives.outputBytes = try count(max: maxOutputBytes)
            case "emulator_queue_ms": directives.queueMs = try count(max: maxDurationMs)
            case "emulator_work_ms": directives.workMs = try count(max: maxDurationMs)
            case "emulator_omit_output_text":
                guard value == "true" || value == "false" else {
                    throw .invalidRequest("'\(param)' must be \"true\" or \"false\".", param: param, code: "invalid_value")
                }
                directives.omitOutputText = value == "true"
            default:
                throw .invalidRequest("Unknown emulator directive '\(key)'.", param: param, code: "invalid_value")
            }
        }
        return directives
    }
}

/// The terminal result a response will reach if it is not cancelled.
struct Generation: Sendable {
    enum End: Sendable { case completed, failed, incomplete(reason: String) }

    let end: End
    /// The final output text; nil when the response fails (no output item at all).
    let text: String?
    let inputTokens: Int
    let outputTokens: Int

    static func make(inputText: String, directives: Directives, maxOutputTokens: Int?) -> Generation {
        let inputTokens = Words.count(inputText)
        if directives.outcome == .failed {
            return Generation(end: .failed, text: nil, inputTokens: inputTokens, outputTokens: 0)
        }
        let full: String
        if let exact = directives.outputText {
            full = exact
        } else if let bytes = directives.outputBytes {
            full = patternText(bytes: bytes)
        } else {
            full = "Echo: " + inputText
        }
        let words = Words.count(full)
        var end = End.completed
        var limit: Int? = nil
        switch directives.outcome {
        case .incomplete, .contentFilter:
            // A forced stop keeps the first half of the words (or fewer, under max_output_tokens).
            limit = min(words / 2, maxOutputTokens ?? Int.max)
            end = .incomplete(reason: directives.outcome == .contentFilter ? "content_filter" : "max_output_tokens")
        case .completed, .failed:
            if let maxOutputTokens, maxOutputTokens < words {
                limit = maxOutputTokens
                end = .incomplete(reason: "max_output_tokens")
            }
        }
        let text = limit.map { Words.prefix(full, words: $0) } ?? full
        let outputTokens = limit ?? words
        return Generation(end: end, text: text, inputTokens: inputTokens, outputTokens: outputTokens)
    }

    /// "abcdefghi " repeated: exactly `bytes` UTF-8 bytes, a space every 10th byte.
    static func patternText(bytes: Int) -> String {
        let unit = Array("abcdefghi ".utf8)
        var out = [UInt8](repeating: 0, count: bytes)
        for i in 0..<bytes { out[i] = unit[i % 10] }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Whitespace-separated words: the emulator's notion of a token.
enum Words {
    static func count(_ text: String) -> Int {
        var count = 0
        var inWord = false
        for scalar in text.unicodeScalars {
            if scalar.properties.isWhitespace {
                inWord = false
            } else if !inWord {
                inWord = true
                count += 1
            }
        }
        return count
    }

    /// The text up to the end of its `words`-th word (original spacing kept, trailing space dropped).
    static func prefix(_ text: String, words: Int) -> String {
        guard words > 0 else { return "" }
        var seen = 0
        var inWord = false
        var index = text.unicodeScalars.startIndex
        for scalar in text.unicodeScalars {
            let next = text.unicodeScalars.index(after: index)
            if scalar.properties.isWhitespace {
                inWord = false
            } else {
                if !inWord { inWord = true; seen += 1 }
                let nextIsWordEnd = next == text.unicodeScalars.endIndex
                    || text.unicodeScalars[next].properties.isWhitespace
                if seen == words && nextIsWordEnd { return String(text.unicodeScalars[..<next]) }
            }
            index = next
        }
        return text
    }
}

/// The text of the create's input: the `input` string, or the `text`/`content` strings of the
/// input items (and the `text` of their content parts) joined by "\n".
enum InputText {
    static func of(_ input: JSON?) -> String {
        switch input {
        case .string(let s)?: return s
        case .array(let items)?:
            var pieces: [String] = []
            for item in items {
                guard let object = item.objectValue else { continue }
                if let text = object["text"]?.stringValue { pieces.append(text) }
                switch object["content"] {
                case .string(let s)?: pieces.append(s)
                case .array(let parts)?:
                    for part in parts {
                        if let text = part.objectValue?["text"]?.stringValue { pieces.append(text) }
                    }
                default: break
                }
            }
            return pieces.joined(separator: "\n")
        default: return ""
        }
    }
}

/// Splits text in half at a character (grapheme) boundary, for the two output_text parts.
func splitInHalf(_ text: String) -> (String, String) {
    let middle = text.index(text.startIndex, offsetBy: text.count / 2)
    return (String(text[..<middle]), String(text[middle...]))
}
