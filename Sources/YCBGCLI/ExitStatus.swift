import Glibc
import YCBGCore

/// The process's exit codes: one per way a job or a command can end.
enum ExitStatus: Int32 {
    case completed = 0
    case failedOrIncomplete = 1
    case usage = 2
    case cancelled = 3
    case timedOut = 4
    case networkOrAPI = 5
    /// A local file (output, journal) could not be written.
    case localIO = 6
    /// Stopped by Ctrl-C (128 + SIGINT, as shells report it).
    case interrupted = 130

    /// The code for a task that ended (or stopped being waited for) in `status`.
    init(taskStatus status: TaskStatus) {
        switch status {
        case .completed: self = .completed
        case .failed, .incomplete: self = .failedOrIncomplete
        case .cancelled: self = .cancelled
        case .queued, .inProgress: self = .timedOut
        case .error: self = .networkOrAPI
        }
    }

    /// The code for an error from the library.
    init(error: YCError) {
        switch error.kind {
        case .config, .invalidArgument, .invalidJSON: self = .usage
        case .timeout: self = .timedOut
        default: self = .networkOrAPI
        }
    }

    static let helpText = """
        Exit status:
          0    completed
          1    the job failed or is incomplete (batch: at least one line did not complete)
          2    usage or configuration error
          3    the job was cancelled
          4    not finished: timed out, or the job is still queued or in progress
               (it goes on running on the server)
          5    network or API error
          6    a local file could not be written
          130  interrupted (Ctrl-C)
        """
}

/// A command's failure: the line for stderr and the exit code.
struct CLIFailure: Error {
    let status: ExitStatus
    let message: String

    init(_ status: ExitStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    /// A library error, with every credential the client knows masked.
    init(_ error: YCError, redactor: Redactor) {
        self.init(ExitStatus(error: error), redactor.redact(CLIFailure.describe(error)))
    }

    /// "kind: message", without repeating a kind the message starts with.
    static func describe(_ error: YCError) -> String {
        let kind = error.kind.rawValue
        return error.message.hasPrefix(kind + ":") ? error.message : "\(kind): \(error.message)"
    }

    /// An empty message only sets the exit status.
    func report() {
        if !message.isEmpty { writeStderr("ycbg: \(message)\n") }
    }
}
