public enum Version {
    public static let string = "0.2.0"
}
