import Glibc
import CJansson
import CYCShim
import CYCText

/// One owned reference to a Jansson value. Jansson's reference counts are
/// atomic, so a `JSON` may be read from several threads; the library only
/// mutates values it has just built.
public final class JSON: @unchecked Sendable {
    let raw: UnsafeMutablePointer<json_t>

    /// Takes over a new reference (`json_object()`, `json_loadb()`, ...).
    init(owning raw: UnsafeMutablePointer<json_t>) { self.raw = raw }

    /// Adds a reference to a borrowed value.
    convenience init(borrowing raw: UnsafeMutablePointer<json_t>) {
        self.init(owning: ycs_json_incref(raw))
    }

    deinit { ycs_json_decref(raw) }

    public enum Kind: Int32 { case object = 0, array, string, integer, real, `true`, `false`, null }

    public var kind: Kind { Kind(rawValue: ycs_json_typeof(raw)) ?? .null }

    // MARK: Parsing and printing

    /// Parses UTF-8 JSON text. A failure is `invalid_json` naming line and column.
    public static func parse(_ text: UnsafeRawBufferPointer, what: String) throws(YCError) -> JSON {
        var line: Int32 = 0, column: Int32 = 0
        var message = [CChar](repeating: 0, count: 160)
        let empty: [CChar] = [0]
        let parsed = message.withUnsafeMutableBufferPointer { buf in
            empty.withUnsafeBufferPointer { fallback in
                let base = text.baseAddress?.assumingMemoryBound(to: CChar.self) ?? fallback.baseAddress!
                return ycs_json_loadb(base, text.count, &line, &column, buf.baseAddress, buf.count)
            }
        }
        guard let parsed else {
            let reason = String(cString: message)
            throw YCError(.invalidJSON,
                          "\(what) is not valid JSON: \(reason) at line \(line), column \(column)")
        }
        return JSON(owning: parsed)
    }

    public static func parse(_ text: String, what: String) throws(YCError) -> JSON {
        var text = text
        let result = text.withUTF8 { utf8 in
            Result { () throws(YCError) in try parse(UnsafeRawBufferPointer(utf8), what: what) }
        }
        return try result.get()
    }

    public static func parse(_ bytes: [UInt8], what: String) throws(YCError) -> JSON {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(YCError) in try parse(raw, what: what) }
        }
        return try result.get()
    }

    /// Compact JSON text. The buffer comes from the library's own malloc
    /// (CYCText), not Jansson's allocator, which a host may replace. Text
    /// for the caller goes out through `Redactor.exported` instead.
    public func serialized() -> String {
        var length = 0
        guard let c = ycx_json_text(raw, &length) else { return "null" }
        defer { free(c) }
        return String(decoding: UnsafeRawBufferPointer(start: c, count: length), as: UTF8.self)
    }

    // MARK: Building

    public static func object() -> JSON { JSON(owning: json_object()) }
    public static func string(_ s: String) -> JSON {
        var s = s
        return s.withUTF8 { utf8 in
            // json_stringn_nocheck: Swift strings are valid UTF-8 already.
            guard let base = UnsafeRawPointer(utf8.baseAddress)?.assumingMemoryBound(to: CChar.self) else {
                return JSON(owning: json_string(""))
            }
            return JSON(owning: json_stringn_nocheck(base, utf8.count))
        }
    }
    public static func integer(_ v: Int) -> JSON { JSON(owning: json_integer(json_int_t(v))) }
    /// null for NaN and infinities, which JSON cannot hold.
    public static func number(_ v: Double) -> JSON { json_real(v).map { JSON(owning: $0) } ?? null() }
    public static func bool(_ v: Bool) -> JSON { JSON(owning: v ? json_true() : json_false()) }
    public static func null() -> JSON { JSON(owning: json_null()) }

    /// A deep copy, so the caller can change it without touching the original.
    public func deepCopy() -> JSON? { json_deep_copy(raw).map { JSON(owning: $0) } }

    /// Sets `key` (adds a reference to `value`).
    public func set(_ key: String, _ value: JSON) {
        json_object_set(raw, key, value.raw)
    }

    public func remove(_ key: String) { json_object_del(raw, key) }

    // MARK: Reading

    public subscript(key: String) -> JSON? {
        guard kind == .object, let v = json_object_get(raw, key) else { return nil }
        return JSON(borrowing: v)
    }

    public var stringValue: String? {
        guard kind == .string, let c = json_string_value(raw) else { return nil }
        let n = json_string_length(raw)
        return c.withMemoryRebound(to: UInt8.self, capacity: n) {
            String(decoding: UnsafeBufferPointer(start: $0, count: n), as: UTF8.self)
        }
    }

    public var intValue: Int? { kind == .integer ? Int(json_integer_value(raw)) : nil }
    /// An integer or real as a Double.
    public var numberValue: Double? { kind == .integer || kind == .real ? json_number_value(raw) : nil }
    public var boolValue: Bool? {
        switch kind { case .true: return true; case .false: return false; default: return nil }
    }
    public var isNull: Bool { kind == .null }

    /// Array elements (empty for a non-array).
    public var elements: [JSON] {
        guard kind == .array else { return [] }
        return (0..<json_array_size(raw)).compactMap { i in json_array_get(raw, i).map { JSON(borrowing: $0) } }
    }

    /// Object members in the document's order (empty for a non-object).
    public var members: [(key: String, value: JSON)] {
        guard kind == .object else { return [] }
        var result: [(String, JSON)] = []
        var iter = json_object_iter(raw)
        while let it = iter {
            if let k = json_object_iter_key(it), let v = json_object_iter_value(it) {
                result.append((String(cString: k), JSON(borrowing: v)))
            }
            iter = json_object_iter_next(raw, it)
        }
        return result
    }

    /// `self[key]` unless it is absent or JSON null.
    public func nonNull(_ key: String) -> JSON? {
        guard let v = self[key], !v.isNull else { return nil }
        return v
    }
}
