import ArgumentParser
import Glibc
import YCBGCore

/// `ycbg`: the library's background workflow from a shell.
@main
struct Ycbg: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ycbg",
        abstract: "Run Yandex Cloud AI Studio text generation in background mode.",
        discussion: ExitStatus.helpText,
        version: Version.string,
        subcommands: [BatchCommand.self])

    /// ArgumentParser's own `main` exits 64 on a usage error; ycbg's codes
    /// are `ExitStatus`, and a failure of a command is one line on stderr.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let failure as CLIFailure {
            failure.report()
            Glibc.exit(failure.status.rawValue)
        } catch {
            if exitCode(for: error) == .success {  // --help, --version
                print(fullMessage(for: error))
                Glibc.exit(0)
            }
            let message = fullMessage(for: error)
            if !message.isEmpty { writeStderr(message + "\n") }
            Glibc.exit(ExitStatus.usage.rawValue)
        }
    }
}
