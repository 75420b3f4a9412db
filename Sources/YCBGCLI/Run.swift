import ArgumentParser
import YCBGCore

/// `ycbg run`: create, wait, print the text.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run one prompt in background mode and print its text.",
        discussion: """
            Creates a background response, shows its status and the elapsed time on stderr (one \
            redrawn line on a terminal, else a line per status change), and prints the response's \
            text on stdout, exactly as the model wrote it (a newline is added only on a terminal). \
            The exit status is 0 only when the job completed: 1 failed or incomplete (the partial \
            text of an incomplete job is printed), 3 cancelled, 4 timed out (--timeout), 5 a \
            network or API error. A timeout or the first Ctrl-C stops waiting, not the job: ycbg \
            prints its id and `ycbg wait ID` picks it up later (exit 4 or 130); with \
            --cancel-on-interrupt, Ctrl-C cancels the job first. A second Ctrl-C leaves at once.

            Example:
              ycbg run --max-output-tokens 200 "Summarize RFC 9110 in three sentences"
              ycbg run -f prompt.txt --timeout 600 > answer.txt
            """)

    @OptionGroup var prompt: PromptOptions
    @OptionGroup(title: "Request") var request: RequestOptions

    @Option(help: ArgumentHelp("Stop waiting after this many seconds (exit 4; the job goes on running).",
                               valueName: "seconds"))
    var timeout: Double?

    @Flag(help: "On Ctrl-C, cancel the job on the server before leaving (by default it goes on running).")
    var cancelOnInterrupt = false

    @Flag(name: .shortAndLong, help: "No status lines on stderr.")
    var quiet = false

    @OptionGroup(title: "Connection") var connection: ClientOptions

    func validate() throws {
        if let timeout, !(timeout.isFinite && timeout > 0) { throw ValidationError("--timeout must be a number of seconds above 0") }
    }

    func run() throws {
        let body = try prompt.requestBody(request)
        let client = try connection.makeClient()
        // From here a Ctrl-C no longer kills the process: the create gets
        // its answer, so that the job's id can be shown.
        Interrupts.install()
        let startedMs = Clock.nowMs()
        let task: BackgroundTask
        do {
            task = try client.createBackground(requestJSON: body.serialized())
        } catch {
            throw CLIFailure(error, redactor: client.redactor)
        }
        let id = task.id ?? ""
        let line = StatusLine(id: id, quiet: quiet, startedMs: startedMs)
        let end = waitForJob(task, timeoutSeconds: timeout, line: line)
        if case .interrupted = end, cancelOnInterrupt {
            line.end()
            let (status, error) = task.cancelEx()
            let outcome = error.map {
                "cancelling \(id) failed (\(CLIFailure($0, redactor: client.redactor).message)); \(pickUpHint(id))"
            } ?? "\(id) is \(status.name)"
            throw CLIFailure(.interrupted, "interrupted: \(outcome)")
        }
        let status = try conclude(end, id: id, line: line, redactor: client.redactor)
        if status == .completed || status == .incomplete { writeOutput(task.outputText, redactor: client.redactor) }
        if status != .completed { throw CLIFailure(ExitStatus(taskStatus: status), endMessage(task, id: id)) }
    }
}
