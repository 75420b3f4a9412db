/// Random (version 4) UUIDs for x-client-request-id and Idempotency-Key.
enum RandomUUID {
    static func make() -> String {
        // Two draws of the system generator (one getrandom each), not one per byte.
        var g = SystemRandomNumberGenerator()
        let (a, b) = (g.next(), g.next())
        var bytes = (0..<16).map { i in UInt8(truncatingIfNeeded: (i < 8 ? a : b) >> (UInt64(i % 8) * 8)) }
        bytes[6] = (bytes[6] & 0x0f) | 0x40
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
