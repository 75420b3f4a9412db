import Glibc
import YCBGCore

/// Reads the JSON lines a batch appended to `path` in an earlier run, one at
/// a time (a big output file is never held whole). A missing file has none.
/// A last line without its newline was torn by a kill: with `repair` it is
/// cut off the file (so that appends start on a line of their own), else
/// skipped. A line that is not a JSON object is skipped too.
func readJSONLines(_ path: String, what: String, repair: Bool, _ body: (JSON) throws -> Void) throws {
    let fd = open(path, (repair ? O_RDWR : O_RDONLY) | O_CLOEXEC)
    if fd < 0 {
        if errno == ENOENT { return }
        throw CLIFailure(.localIO, "\(what) \(path): \(systemError())")
    }
    defer { close(fd) }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    var pending: [UInt8] = []
    var offset: Int64 = 0
    var lineStart: Int64 = 0  // file offset of `pending`'s first byte
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            throw CLIFailure(.localIO, "reading \(what) \(path): \(systemError())")
        }
        if n == 0 { break }
        var from = 0
        for i in 0..<n where chunk[i] == 0x0A {
            pending.append(contentsOf: chunk[from..<i])
            if let doc = try? JSON.parse(pending, what: what), doc.kind == .object { try body(doc) }
            lineStart = offset + Int64(i) + 1
            pending.removeAll(keepingCapacity: true)
            from = i + 1
        }
        pending.append(contentsOf: chunk[from..<n])
        offset += Int64(n)
    }
    if !pending.isEmpty && repair {
        guard ftruncate(fd, off_t(lineStart)) == 0, fsync(fd) == 0 else {
            throw CLIFailure(.localIO, "truncating the torn last line of \(what) \(path): \(systemError())")
        }
    }
}

extension AppendFile {
    /// Appends one JSON document as a line.
    func appendLine(_ doc: JSON) throws {
        var text = doc.serialized()
        text.append("\n")
        try append(Array(text.utf8))
    }
}

/// A file the batch writes could not be opened: a local file error (exit 6).
func localFile<T>(_ open: () throws -> T) throws -> T {
    do {
        return try open()
    } catch let failure as CLIFailure {
        throw CLIFailure(.localIO, failure.message)
    }
}
