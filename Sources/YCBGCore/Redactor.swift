import CYCText
import Glibc

/// Removes credentials from any text the library hands out (messages,
/// server-echoed errors, results). The masking itself is CYCText's, the one
/// exit every string leaving the library goes through: when memory runs out
/// it gives nothing rather than the unmasked text.
public struct Redactor: Sendable {
    private let secrets: [String]
    /// The secrets as they appear in plain text, and inside JSON text.
    private let textSet: SecretSet
    private let jsonSet: SecretSet

    /// Shorter strings are not masked: they would garble ordinary words
    /// ("k" in every message) while protecting nothing real keys look like.
    public static let minimumSecretLength = 6

    /// What `redact` returns when memory ran out while masking.
    public static let withheld = "[text withheld: out of memory while masking credentials]"

    public init(secrets: [String?]) {
        // Longest first, so a secret that contains another is masked whole.
        self.secrets = secrets.compactMap { $0 }
            .filter { $0.utf8.count >= Redactor.minimumSecretLength }
            .sorted { $0.utf8.count > $1.utf8.count }
        // In JSON text a secret appears escaped ("\\" for "\", "\"" for a
        // quote); its raw spelling there could only match across a string's
        // quotes, so JSON text is masked by the escaped spellings alone.
        self.textSet = SecretSet(self.secrets.map { Array($0.utf8) })
        self.jsonSet = SecretSet(self.secrets.map { Redactor.jsonEscaped($0) })
    }

    public var isEmpty: Bool { secrets.isEmpty }

    /// `text` with every credential masked; `Redactor.withheld` when memory
    /// ran out (never the unmasked text).
    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var text = text
        return text.withUTF8 { utf8 in
            guard let out = exported(UnsafeRawBufferPointer(utf8)) else { return Redactor.withheld }
            defer { free(out.pointer) }
            return String(decoding: UnsafeRawBufferPointer(start: out.pointer, count: out.count), as: UTF8.self)
        }
    }

    /// The exit for a JSON document: its compact text in memory from the
    /// library's own malloc (yc_free matches), credentials masked; nil when
    /// memory ran out.
    public func exported(_ doc: JSON) -> UnsafeMutablePointer<CChar>? {
        guard let secrets = jsonSet.pointer(whenNeeded: !self.secrets.isEmpty) else { return nil }
        return withExtendedLifetime(doc) { ycx_export_json(secrets.value, doc.raw, nil) }
    }

    /// The exit for text: a malloc'd NUL-terminated copy with credentials
    /// masked; nil when memory ran out. `length` (when given) receives the
    /// byte count without the terminator (NULs inside included), 0 on failure.
    public func exported(_ text: String, length: UnsafeMutablePointer<Int>? = nil) -> UnsafeMutablePointer<CChar>? {
        var text = text
        length?.pointee = 0
        return text.withUTF8 { utf8 in
            guard let out = exported(UnsafeRawBufferPointer(utf8)) else { return nil }
            length?.pointee = out.count
            return UnsafeMutableRawPointer(out.pointer).assumingMemoryBound(to: CChar.self)
        }
    }

    private func exported(_ bytes: UnsafeRawBufferPointer) -> (pointer: UnsafeMutableRawPointer, count: Int)? {
        guard let secrets = textSet.pointer(whenNeeded: !self.secrets.isEmpty) else { return nil }
        var count = 0
        let empty: CChar = 0
        let out: UnsafeMutablePointer<CChar>? = withUnsafePointer(to: empty) { fallback in
            let base = bytes.baseAddress?.assumingMemoryBound(to: CChar.self) ?? fallback
            return ycx_redacted_copy(secrets.value, base, bytes.count, &count)
        }
        return out.map { (UnsafeMutableRawPointer($0), count) }
    }

    /// `s` as it appears inside a JSON string written by Jansson.
    static func jsonEscaped(_ s: String) -> [UInt8] {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        for b in s.utf8 {
            switch b {
            case 0x22: out += [0x5c, 0x22]
            case 0x5c: out += [0x5c, 0x5c]
            case 0x08: out += [0x5c, 0x62]
            case 0x0c: out += [0x5c, 0x66]
            case 0x0a: out += [0x5c, 0x6e]
            case 0x0d: out += [0x5c, 0x72]
            case 0x09: out += [0x5c, 0x74]
            case ..<0x20: out += [0x5c, 0x75, 0x30, 0x30, hex[Int(b >> 4)], hex[Int(b & 15)]]
            default: out.append(b)
            }
        }
        return out
    }
}

/// The C copy of a redactor's secrets, made once. A NULL set (memory ran
/// out when it was made) makes every export with secrets fail closed.
private final class SecretSet: @unchecked Sendable { // immutable after init
    let raw: OpaquePointer?

    init(_ spellings: [[UInt8]]) {
        guard !spellings.isEmpty else { raw = nil; return }
        let copies = spellings.map { bytes -> UnsafeMutablePointer<CChar>? in
            let p = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBytes { b in
                if let base = b.baseAddress { UnsafeMutableRawPointer(p).copyMemory(from: base, byteCount: b.count) }
            }
            return p
        }
        defer { copies.forEach { $0?.deallocate() } }
        let pointers = copies.map { $0.map { UnsafePointer($0) } }
        let lengths = spellings.map { $0.count }
        raw = ycx_secrets_new(pointers, lengths, spellings.count)
    }

    deinit { ycx_secrets_free(raw) }

    /// The set to pass to CYCText: `.some(nil)` when there is nothing to
    /// mask, nil when there is but the set could not be made.
    func pointer(whenNeeded needed: Bool) -> Wrapped? {
        if !needed { return Wrapped(value: nil) }
        return raw.map { Wrapped(value: $0) }
    }

    struct Wrapped { let value: OpaquePointer? }
}
