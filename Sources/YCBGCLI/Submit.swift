import ArgumentParser
import YCBGCore

/// `ycbg submit`: create a background job and print its id.
struct Submit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create a background job and print its response id.",
        discussion: """
            Sends the create and prints only the response id on stdout, so that a script can keep \
            it and another shell, or another machine with the same credentials, can follow the job \
            with `ycbg status`, `ycbg wait`, `ycbg result` or `ycbg cancel`. The prompt and the \
            request options are those of `ycbg run`. Exit status 0 once the server has accepted \
            the job; 2 for a usage or configuration error, 5 for a network or API error.

            Example:
              id=$(ycbg submit -f long-prompt.txt) && ycbg wait "$id" && ycbg result "$id"
            """)

    @OptionGroup var prompt: PromptOptions
    @OptionGroup(title: "Request") var request: RequestOptions
    @OptionGroup(title: "Connection") var connection: ClientOptions

    func run() throws {
        let body = try prompt.requestBody(request)
        let client = try connection.makeClient()
        // A Ctrl-C waits for the create's answer: a job that was created
        // always has its id printed.
        Interrupts.install()
        let id: String
        do {
            id = try client.createBackground(requestJSON: body.serialized()).id ?? ""
        } catch {
            throw CLIFailure(error, redactor: client.redactor)
        }
        writeStdout(client.redactor.redact(id) + "\n")
        if Interrupts.requested { throw CLIFailure(.interrupted, "interrupted after \(id) was created") }
    }
}
