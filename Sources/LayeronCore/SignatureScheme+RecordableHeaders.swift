extension SignatureScheme {
    /// What a token scheme's header holds is the shared secret itself (GitLab's `X-Gitlab-Token`,
    /// Postmark's Basic credentials, a custom `"algorithm": "token"`), not a signature derived from
    /// it. Such a header is kept out of the store, the admin API and the plugins: its value becomes
    /// `<redacted>`, its name stays so an operator can see it was sent.
    public var headerHoldingTheSecret: String? {
        guard algorithm == .token, case let .header(name) = signature else { return nil }
        return name
    }

    /// `headers` as they may be recorded: unchanged unless this scheme's header holds the secret.
    public func recordable(_ headers: [(name: String, value: String)]) -> [(name: String, value: String)] {
        guard let secretHeader = headerHoldingTheSecret else { return headers }
        let lowered = secretHeader.lowercased()
        return headers.map { $0.name.lowercased() == lowered ? ($0.name, "<redacted>") : $0 }
    }
}
