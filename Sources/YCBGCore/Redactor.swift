import CYCShim
import Glibc

/// Removes credentials from any text the library hands out (messages,
/// server-echoed errors, results).
public struct Redactor: Sendable {
    private let secrets: [String]

    /// Shorter strings are not masked: they would garble ordinary words
    /// ("k" in every message) while protecting nothing real keys look like.
    public static let minimumSecretLength = 6

    public init(secrets: [String?]) {
        // Longest first, so a secret that contains another is masked whole.
        self.secrets = secrets.compactMap { $0 }
            .filter { $0.utf8.count >= Redactor.minimumSecretLength }
            .sorted { $0.utf8.count > $1.utf8.count }
    }

    public var isEmpty: Bool { secrets.isEmpty }

    public func redact(_ text: String) -> String {
        guard !secrets.isEmpty else { return text }
        var text = text
        let replaced: String? = text.withUTF8 { utf8 in
            guard let out = redactedCopy(UnsafeRawBufferPointer(utf8)) else { return nil }
            defer { free(out.pointer) }
            return String(decoding: UnsafeBufferPointer(start: out.pointer, count: out.count), as: UTF8.self)
        }
        return replaced ?? text
    }

    /// A malloc'd redacted copy of `bytes`, or nil when no secret occurs in it.
    public func redactedCopy(_ bytes: UnsafeRawBufferPointer) -> (pointer: UnsafeMutablePointer<UInt8>, count: Int)? {
        guard !secrets.isEmpty, let base = bytes.baseAddress else { return nil }
        let cStrings = secrets.map { strdup($0) }
        defer { cStrings.forEach { free($0) } }
        var outLen = 0
        let list: [UnsafePointer<CChar>?] = cStrings.map { $0.map { UnsafePointer($0) } }
        let out: UnsafeMutablePointer<CChar>? = list.withUnsafeBufferPointer { list in
            ycs_redact(base.assumingMemoryBound(to: CChar.self), bytes.count, list.baseAddress, list.count, &outLen)
        }
        guard let out else { return nil }
        return (UnsafeMutableRawPointer(out).assumingMemoryBound(to: UInt8.self), outLen)
    }
}
