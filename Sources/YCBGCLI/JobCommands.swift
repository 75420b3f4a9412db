import ArgumentParser
import YCBGCore

/// The job a command is about: its response id and the connection.
struct JobOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The response id (from `ycbg submit`, or printed by `ycbg run`).", valueName: "id"))
    var id: String

    @OptionGroup(title: "Connection") var connection: ClientOptions

    /// The client and the job with its current state fetched.
    func attach() throws -> (Client, BackgroundTask) {
        let client = try connection.makeClient()
        do {
            return (client, try client.attach(responseID: id))
        } catch {
            throw CLIFailure(error, redactor: client.redactor)
        }
    }
}

/// The exit for a job in `status`: its code, silently (the status was printed).
func exitForStatus(_ status: TaskStatus) throws {
    if status != .completed { throw CLIFailure(ExitStatus(taskStatus: status), "") }
}

/// `ycbg status ID`.
struct Status: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print a job's status.",
        discussion: """
            Fetches the job once and prints its status name on stdout: queued, in_progress, \
            completed, failed, incomplete or cancelled (with --json, the whole Response object). \
            The exit status says the same for scripts: 0 completed, 1 failed or incomplete, \
            3 cancelled, 4 not finished yet (queued or in progress); 5 when the job could not be \
            fetched (an unknown id is the API's 404).

            Example:
              ycbg status resp_0123abcd || echo "not done"
            """)

    @OptionGroup var job: JobOptions

    @Flag(help: "Print the Response object as JSON instead of the status name.")
    var json = false

    func run() throws {
        let (client, task) = try job.attach()
        if json {
            writeJSON(task.result()["response"] ?? JSON.null(), redactor: client.redactor)
        } else {
            writeStdout(task.status.name + "\n")
        }
        try exitForStatus(task.status)
    }
}

/// `ycbg wait ID`.
struct Wait: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Wait for a job to end and print its final status.",
        discussion: """
            Polls the job (at the server's pace) until it ends, showing its status on stderr as \
            `ycbg run` does, then prints the final status name on stdout and exits with its code: \
            0 completed, 1 failed or incomplete, 3 cancelled. With --timeout it gives up after that \
            many seconds, prints the status it last saw and exits 4; the job goes on running. \
            Ctrl-C stops waiting (exit 130), never the job.

            Example:
              ycbg wait --timeout 300 resp_0123abcd && ycbg result resp_0123abcd > answer.txt
            """)

    @OptionGroup var job: JobOptions

    @Option(help: ArgumentHelp("Stop waiting after this many seconds (exit 4).", valueName: "seconds"))
    var timeout: Double?

    @Flag(name: .shortAndLong, help: "No status lines on stderr.")
    var quiet = false

    func validate() throws {
        if let timeout, !(timeout.isFinite && timeout > 0) { throw ValidationError("--timeout must be a number of seconds above 0") }
    }

    func run() throws {
        Interrupts.install()
        let (client, task) = try job.attach()
        let line = StatusLine(id: job.id, quiet: quiet)
        let end = waitForJob(task, timeoutSeconds: timeout, line: line)
        if case .timedOut(let status) = end { writeStdout(status.name + "\n") }
        let status = try conclude(end, id: job.id, line: line, redactor: client.redactor)
        writeStdout(status.name + "\n")
        if status != .completed { throw CLIFailure(ExitStatus(taskStatus: status), endMessage(task, id: job.id)) }
    }
}

/// `ycbg cancel ID`.
struct Cancel: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel a job and print the status it has then.",
        discussion: """
            Asks the server to cancel the job and prints the status it reports afterwards, normally \
            cancelled. Exit status 0 when the job is cancelled (or the cancel was accepted and is \
            still under way: the status printed is then queued or in_progress); a job that had \
            already ended cannot be cancelled: its status is printed and the exit status is 1. \
            Cancelling a job already cancelled is not an error.

            Example:
              ycbg cancel resp_0123abcd
            """)

    @OptionGroup var job: JobOptions

    func run() throws {
        let (client, task) = try job.attach()
        let (status, error) = task.cancelEx()
        if let error { throw CLIFailure(error, redactor: client.redactor) }
        writeStdout(status.name + "\n")
        if status.isTerminal && status != .cancelled {
            throw CLIFailure(.failedOrIncomplete, "\(job.id) had already ended (\(status.name)): nothing to cancel")
        }
    }
}

/// `ycbg result ID` (not named `Result`, which would hide Swift's).
struct ResultCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "result",
        abstract: "Print a job's text (with --json, its result document).",
        discussion: """
            Fetches the job once. When it completed, prints its text on stdout, exactly as the \
            model wrote it (a newline is added only on a terminal), and exits 0. An incomplete job \
            prints its partial text and exits 1, a failed one exits 1 and a cancelled one 3, with \
            the reason on stderr. A job not finished yet prints nothing, says so on stderr and \
            exits 4: `ycbg wait ID` first. With --json the result document is printed in every \
            case (id, status, output_text, usage, error and the whole response: what yc_result \
            gives in the C library), with the same exit status.

            Example:
              ycbg result --json resp_0123abcd | jq .usage
            """)

    @OptionGroup var job: JobOptions

    @Flag(help: "Print the result document as JSON.")
    var json = false

    func run() throws {
        let (client, task) = try job.attach()
        let status = task.status
        if json {
            writeJSON(task.result(), redactor: client.redactor)
        } else if status == .completed || status == .incomplete {
            writeOutput(task.outputText, redactor: client.redactor)
        }
        guard status.isTerminal else {
            throw CLIFailure(.timedOut, "\(job.id) is still \(status.name): no result yet; `ycbg wait \(job.id)` waits for it")
        }
        if status != .completed { throw CLIFailure(ExitStatus(taskStatus: status), endMessage(task, id: job.id)) }
    }
}
