import CYCShim

/// The oldest libcurl and Jansson the library works with. The C shim
/// refuses to build against older headers (#error), ycbg.pc declares them,
/// and `check` refuses older libraries loaded at run time.
public enum Dependencies {
    public static let minimumCurl = [7, 85, 0]
    public static let minimumJansson = [2, 13, 0]

    /// A `config` error naming the library, the version found and the
    /// minimum, when the loaded libcurl or Jansson is too old.
    public static func check() throws(YCError) {
        var curlText: UnsafePointer<CChar>? = nil
        let curlNumber = ycs_curl_version(&curlText)
        let curl = [Int(curlNumber >> 16 & 0xff), Int(curlNumber >> 8 & 0xff), Int(curlNumber & 0xff)]
        if curl.lexicographicallyPrecedes(minimumCurl) {
            let found = curlText.map { String(cString: $0) } ?? dotted(curl)
            throw YCError(.config, "config: libcurl \(found) is loaded, but ycbg needs libcurl \(dotted(minimumCurl)) or newer")
        }
        guard let janssonText = ycs_jansson_version() else {
            throw YCError(.config, "config: the Jansson loaded is older than 2.13 (it has no jansson_version_str), but ycbg needs Jansson \(dotted(minimumJansson)) or newer")
        }
        let found = String(cString: janssonText)
        guard let jansson = parse(found), !jansson.lexicographicallyPrecedes(minimumJansson) else {
            throw YCError(.config, "config: Jansson \(String(found.prefix(32))) is loaded, but ycbg needs Jansson \(dotted(minimumJansson)) or newer")
        }
    }

    /// "2.13.1" → [2, 13, 1]; "2.14" → [2, 14, 0]; nil when not a version.
    static func parse(_ text: String) -> [Int]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...3).contains(parts.count) else { return nil }
        var numbers: [Int] = []
        for p in parts {
            guard let n = Int(p), n >= 0 else { return nil }
            numbers.append(n)
        }
        return numbers + Array(repeating: 0, count: 3 - numbers.count)
    }

    private static func dotted(_ v: [Int]) -> String { v.map { String($0) }.joined(separator: ".") }
}
