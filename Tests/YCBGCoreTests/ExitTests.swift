import Glibc
import Testing
@testable import YCBGCore

/// The one exit for strings leaving the library (Redactor over CYCText).
@Suite struct ExitTests {
    @Test func exportedTextIsMaskedInEverySpelling() {
        let quoted = "tok\"en\\QUOTE-99"
        let r = Redactor(secrets: ["plain-secret-1", quoted])
        #expect(Redactor.jsonEscaped(quoted) == Array("tok\\\"en\\\\QUOTE-99".utf8))
        #expect(Redactor.jsonEscaped("a\tb\u{1}") == Array("a\\tb\\u0001".utf8))
        let doc = JSON.object()
        doc.set("message", .string("the key plain-secret-1 and \(quoted)"))
        guard let out = r.exported(doc) else { Issue.record("no text"); return }
        defer { free(out) }
        #expect(String(cString: out) == #"{"message":"the key [REDACTED] and [REDACTED]"}"#)
        guard let text = r.exported("x plain-secret-1 y") else { Issue.record("no text"); return }
        defer { free(text) }
        #expect(String(cString: text) == "x [REDACTED] y")
        // No secrets: a copy of the text all the same.
        guard let copy = Redactor(secrets: []).exported("abc") else { Issue.record("no copy"); return }
        defer { free(copy) }
        #expect(String(cString: copy) == "abc")
    }
}
