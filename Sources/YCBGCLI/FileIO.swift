import Glibc

/// The text of the last failed system call's errno.
func systemError() -> String { String(cString: strerror(errno)) }

/// A file's whole content ("-": standard input), or a usage failure naming
/// `what` and the reason.
func readFile(_ path: String, what: String) throws -> [UInt8] {
    let fd = path == "-" ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { throw CLIFailure(.usage, "\(what) \(path): \(systemError())") }
    defer { if fd != STDIN_FILENO { close(fd) } }
    guard let bytes = readAll(fd) else {
        throw CLIFailure(.usage, "\(what) \(path): \(systemError())")
    }
    return bytes
}

/// Everything readable from `fd` until end of file; nil on a read error.
func readAll(_ fd: Int32) -> [UInt8]? {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n == 0 { return bytes }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        bytes.append(contentsOf: chunk[0..<n])
    }
}

/// A file opened for appending whole records, made durable by `sync()`.
final class AppendFile {
    let path: String
    private let fd: Int32
    /// Appended since the last sync.
    private var unsynced = false

    /// Creates the file when missing (mode 0600: it may hold prompts).
    init(path: String, what: String) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CLIFailure(.usage, "\(what) \(path): \(systemError())") }
    }

    deinit { close(fd) }

    /// Writes all of `bytes` (one record; O_APPEND keeps it in one place).
    func append(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIFailure(.localIO, "writing \(path): \(systemError())")
            }
            offset += n
        }
        unsynced = true
    }

    /// Takes an exclusive advisory lock on the file (flock), held until the
    /// process ends, however it ends; false if another process holds it.
    func lockExclusively() -> Bool {
        flock(fd, LOCK_EX | LOCK_NB) == 0
    }

    /// Everything appended so far is on disk when this returns (no fsync
    /// when nothing was appended since the last).
    func sync() throws {
        guard unsynced else { return }
        guard fsync(fd) == 0 else {
            throw CLIFailure(.localIO, "fsync \(path): \(systemError())")
        }
        unsynced = false
    }
}

/// Writes `text` to standard error as is (unbuffered, whole).
func writeStderr(_ text: String) { writeWhole(STDERR_FILENO, text) }

/// Writes `text` to standard output as is (unbuffered, whole).
func writeStdout(_ text: String) { writeWhole(STDOUT_FILENO, text) }

private func writeWhole(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { utf8 in
        var offset = 0
        while offset < utf8.count {
            let n = write(fd, utf8.baseAddress! + offset, utf8.count - offset)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            offset += n
        }
    }
}

/// The first two roles whose paths name one file (the same inode, or the
/// same place for files not made yet), or nil.
func sameFile(_ files: [(role: String, path: String)]) -> (String, String)? {
    let identities = files.map { fileIdentity($0.path) }
    for i in files.indices {
        for j in files.indices where j > i && identities[i] == identities[j] {
            return (files[i].role, files[j].role)
        }
    }
    return nil
}

/// "dev:inode" of an existing file; else its resolved folder and its name.
private func fileIdentity(_ path: String) -> String {
    var info = stat()
    if stat(path, &info) == 0 { return "\(info.st_dev):\(info.st_ino)" }
    let slash = path.lastIndex(of: "/")
    let folder = slash.map { path[..<$0].isEmpty ? "/" : String(path[..<$0]) } ?? "."
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard let resolved = realpath(folder, nil) else { return path }
    defer { free(resolved) }
    return String(cString: resolved) + "/" + name
}
