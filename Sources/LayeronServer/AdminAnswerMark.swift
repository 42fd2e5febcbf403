/// The header every error answer of the admin API carries, on the admin listener and under the
/// public mount. Its error bodies are the public listener's (`{"error": "…"}`), so without a mark
/// `layeron events list --admin <the public listener>` printed the public listener's 404 as if the
/// admin API had no such route; the CLI takes an error without the mark for another server's and
/// says to check the URL.
public enum AdminAnswerMark {
    public static let name = "Layeron-Admin-API"
    public static let value = "1"
}
