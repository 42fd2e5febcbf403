import Foundation

/// The environment a test gives the programs it starts: this process's, less every `LAYERON_`
/// variable and every secret name in `secretVariables`. What the machine running the tests has
/// exported (a developer's `LAYERON_ENV=production`, a `STRIPE_WEBHOOK_SECRET` from following the
/// README) would otherwise reach every server and CLI run, and each test sees only what it sets.
enum ChildEnvironment {
    static func inherited(removing extra: Set<String> = []) -> [String: String] {
        ProcessInfo.processInfo.environment.filter { name, _ in
            !name.hasPrefix("LAYERON_") && !secretVariables.contains(name) && !extra.contains(name)
        }
    }
}
