/// Text that a client, a provider or a plugin chose, made safe to print on a line-based log or an
/// operator's terminal: an escape sequence must not repaint the terminal, nor a carriage return
/// overwrite what came before. Control characters other than tab and newline are written as `\u{…}`
/// (as JSON escapes them); each newline becomes `newline`, so a caller can indent what follows.
public enum TerminalText {
    public static func escaped(_ text: String, newline: String = "\n") -> String {
        guard text.unicodeScalars.contains(where: { isControl($0) || $0 == "\n" }) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            if scalar == "\n" {
                out.append(contentsOf: newline.unicodeScalars)
            } else if isControl(scalar) {
                out.append(contentsOf: "\\u{\(String(scalar.value, radix: 16))}".unicodeScalars)
            } else {
                out.append(scalar)
            }
        }
        return String(out)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t" && scalar != "\n") || (0x7F...0x9F).contains(scalar.value)
    }
}
