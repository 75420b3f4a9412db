// Credential check for the API: `Authorization: Api-Key <k>` or `Bearer <k>`, where <k> is the
// emulator's API key or IAM token (Yandex accepts both schemes; the openai SDK sends Bearer).

enum Auth {
    /// nil when the request may proceed, else the 401 to send (which never echoes the credential).
    static func check(_ authorization: String?, credentials: Set<String>) -> APIError? {
        guard let authorization, !authorization.isEmpty else { return .unauthorized(missing: true) }
        let parts = authorization.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2 else { return .unauthorized(missing: false) }
        let scheme = parts[0].lowercased()
        let credential = parts[1].trimmingBlanks()
        guard scheme == "api-key" || scheme == "bearer", credentials.contains(credential) else {
            return .unauthorized(missing: false)
        }
        return nil
    }
}

private extension Substring {
    func trimmingBlanks() -> String {
        var s = self[...]
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return String(s)
    }
}
