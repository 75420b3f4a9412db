/// A configured connection to the Responses API, shared by every task made
/// from it and by any number of threads.
public final class Client: Sendable {
    public let api: ResponsesAPI
    public let redactor: Redactor

    public convenience init(configJSON: String?, environment: @escaping Configuration.Environment = Configuration.processEnvironment) throws(YCError) {
        try self.init(configJSON: configJSON.map { Array($0.utf8) }, environment: environment)
    }

    /// From raw UTF-8 config bytes (invalid UTF-8 is an `invalid_json` error).
    /// The loaded libcurl and Jansson are checked first (`Dependencies`).
    public convenience init(configJSON: [UInt8]?, environment: @escaping Configuration.Environment = Configuration.processEnvironment) throws(YCError) {
        try Dependencies.check()
        let config = try Configuration.parse(configJSON, environment: environment)
        self.init(config: config, transport: try CurlTransport(caFile: config.caFile, userAgent: config.userAgent))
    }

    /// A client over any transport (tests use a scripted one).
    public init(config: Configuration, transport: any Transport) {
        self.api = ResponsesAPI(config: config, transport: transport)
        self.redactor = config.redactor
    }

    /// Starts a background response; the task holds the server's first answer.
    public func createBackground(requestJSON: String) throws(YCError) -> BackgroundTask {
        try createBackground(requestJSON: Array(requestJSON.utf8))
    }

    public func createBackground(requestJSON: [UInt8]) throws(YCError) -> BackgroundTask {
        let answer = try api.create(requestJSON: requestJSON)
        return BackgroundTask(client: self, first: answer)
    }

    /// A task for an existing response id, with its current state fetched.
    public func attach(responseID id: String) throws(YCError) -> BackgroundTask {
        guard !id.isEmpty, id.utf8.count <= 1024, isHeaderSafe(id) else {
            throw YCError(.invalidArgument, "response_id must be a non-empty id without control characters")
        }
        let answer = try api.retrieve(id: id)
        guard answer.object.id == id else {
            throw YCError(.protocol, "the server answered for id '\(answer.object.id)' when asked for '\(id)'")
        }
        return BackgroundTask(client: self, first: answer)
    }
}
