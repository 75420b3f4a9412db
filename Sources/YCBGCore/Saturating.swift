/// Arithmetic on numbers that come from outside (a caller's timeout, a
/// config value, a server's header): it clamps at the type's bounds instead
/// of trapping, because a Swift overflow trap would kill the host process.
extension FixedWidthInteger {
    /// `self + other`, or the type's max / min when that would overflow.
    public func addingSaturated(_ other: Self) -> Self {
        let (sum, overflow) = addingReportingOverflow(other)
        guard overflow else { return sum }
        return other > 0 ? .max : .min
    }

    /// `self - other`, or the type's max / min when that would overflow.
    public func subtractingSaturated(_ other: Self) -> Self {
        let (difference, overflow) = subtractingReportingOverflow(other)
        guard overflow else { return difference }
        return other < 0 ? .max : .min
    }

    /// `self * other`, or the type's max / min when that would overflow.
    public func multipliedSaturated(by other: Self) -> Self {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        guard overflow else { return product }
        return (self < 0) == (other < 0) ? .max : .min
    }

    /// A finite `Double` rounded up and clamped to this type's range; nil for
    /// NaN and the infinities (a server can send anything).
    public init?(saturatingRoundedUp value: Double) {
        guard value.isFinite else { return nil }
        let up = value.rounded(.up)
        if up <= Double(Self.min) { self = .min; return }
        // Double(Self.max) rounds up to 2^bits for 64-bit types: compare with >=.
        if up >= Double(Self.max) { self = .max; return }
        self.init(up)
    }
}
