import Testing
@testable import YCBGCore

@Suite struct DependencyTests {
    @Test func versionsParseAndTheLoadedOnesPass() throws {
        #expect(Dependencies.parse("2.14") == [2, 14, 0])
        #expect(Dependencies.parse("2.13.1") == [2, 13, 1])
        #expect(Dependencies.parse("7") == [7, 0, 0])
        #expect(Dependencies.parse("banana") == nil)
        #expect(Dependencies.parse("2..1") == nil)
        #expect(Dependencies.parse("1.2.3.4") == nil)
        try Dependencies.check()
    }
}
