/// Cleans visitor text before it is stored, and makes stored text safe to print on a terminal.
///
/// Lead data comes from keyboards, badge scanners and imported files, so it may carry anything: escape
/// sequences that clear or retitle the staff's terminal, NUL bytes, bidi overrides that make `exe.png`
/// read as `gnp.exe`, zero-width characters that defeat duplicate detection. `clean(_:multiline:)` removes
/// them on the way in; `terminalSafe(_:)` shows whatever is left (or came in by another route) as visible
/// escapes on the way out.
public enum TextSanitizer {
    /// Decodes UTF-8, refusing invalid input instead of replacing it with U+FFFD.
    ///
    /// - Parameter bytes: The raw bytes, for example one scanner record.
    /// - Returns: The text, or `nil` when `bytes` is not well-formed UTF-8 (overlong forms, surrogates,
    ///   truncated sequences and stray continuation bytes included).
    public static func decodeUTF8(_ bytes: some Collection<UInt8>) -> String? {
        String(validating: bytes, as: UTF8.self)
    }

    /// Cleans one field value typed or scanned by a visitor.
    ///
    /// - Trims leading and trailing whitespace.
    /// - Removes C0 controls (ESC, NUL, BEL, …), DEL, C1 controls, bidi controls, U+FEFF, other invisible
    ///   format characters (zero-width space, word joiner, tag characters, soft hyphen, …), Hangul fillers
    ///   and noncharacters. ZWJ and ZWNJ stay: emoji sequences and several scripts need them. An escape
    ///   sequence loses only its ESC; the printable rest stays as harmless text.
    /// - Tabs and Unicode space separators become a plain space.
    /// - Single-line text: CR, LF, CRLF and the Unicode line/paragraph separators become a space, and runs
    ///   of spaces collapse to one.
    /// - Multiline text: CRLF, CR and the Unicode line/paragraph separators become LF, and trailing spaces
    ///   of each line are dropped.
    ///
    /// ```swift
    /// TextSanitizer.clean("\u{1B}[2J Anna\tMaria ", multiline: false)  // "[2J Anna Maria"
    /// ```
    public static func clean(_ s: String, multiline: Bool) -> String {
        var out = String.UnicodeScalarView()
        var pendingSpaces = 0
        let scalars = s.unicodeScalars
        var index = scalars.startIndex

        func flushSpaces() {
            guard pendingSpaces > 0 else { return }
            if !out.isEmpty {
                let count = multiline ? pendingSpaces : 1
                out.append(contentsOf: repeatElement(" ", count: count))
            }
            pendingSpaces = 0
        }

        while index < scalars.endIndex {
            let scalar = scalars[index]
            scalars.formIndex(after: &index)
            switch classify(scalar) {
            case .keep:
                flushSpaces()
                out.append(scalar)
            case .space:
                pendingSpaces += 1
            case .lineBreak:
                if scalar == "\r", index < scalars.endIndex, scalars[index] == "\n" {
                    scalars.formIndex(after: &index)
                }
                if multiline {
                    // Trailing spaces of a line are invisible; leading blank lines are trimmed.
                    pendingSpaces = 0
                    if !out.isEmpty { out.append("\n") }
                } else {
                    pendingSpaces += 1
                }
            case .remove:
                continue
            }
        }
        // Trailing spaces are dropped by not flushing them; trailing newlines are trimmed here.
        while let last = out.last, last == "\n" { out.removeLast() }
        return String(out)
    }

    /// Makes text safe to print on a terminal: nothing in it can move the cursor, change colours, retitle
    /// the window, ring the bell or reorder what follows.
    ///
    /// Control characters are shown in caret notation (`ESC` → `^[`, `NUL` → `^@`, `DEL` → `^?`), a line
    /// feed as `⏎`, C1 controls, bidi controls and other invisible format characters as `<U+202E>`.
    /// Everything else is passed through.
    ///
    /// ```swift
    /// TextSanitizer.terminalSafe("\u{1B}]0;pwned\u{07}Anna")  // "^[]0;pwned^GAnna"
    /// ```
    public static func terminalSafe(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for scalar in s.unicodeScalars {
            switch scalar.value {
            case 0x0A:
                out += "⏎"
            case 0x00...0x1F:
                out.unicodeScalars.append("^")
                out.unicodeScalars.append(Unicode.Scalar(UInt8(scalar.value + 0x40)))
            case 0x7F:
                out += "^?"
            case 0x80...0x9F:
                out += codePointEscape(scalar)
            default:
                if isInvisible(scalar) || isLineSeparator(scalar) {
                    out += codePointEscape(scalar)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    private enum Disposition {
        case keep, space, lineBreak, remove
    }

    private static func classify(_ scalar: Unicode.Scalar) -> Disposition {
        switch scalar.value {
        case 0x0A, 0x0D: return .lineBreak
        case 0x09: return .space
        case 0x20: return .space
        case 0x00...0x1F, 0x7F...0x9F: return .remove
        case 0x21...0x7E: return .keep
        default:
            if isLineSeparator(scalar) { return .lineBreak }
            if scalar.properties.generalCategory == .spaceSeparator { return .space }
            if isInvisible(scalar) { return .remove }
            return .keep
        }
    }

    /// U+2028 LINE SEPARATOR and U+2029 PARAGRAPH SEPARATOR.
    private static func isLineSeparator(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// Bidi controls, U+FEFF, other format characters (except ZWJ and ZWNJ), Hangul fillers and
    /// noncharacters: code points that render as nothing, or reorder or hide the text around them.
    static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x200C, 0x200D:
            return false
        case 0x061C, 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069, 0xFEFF:
            return true
        case 0x115F, 0x1160, 0x3164, 0xFFA0:
            return true
        default:
            let properties = scalar.properties
            return properties.generalCategory == .format || properties.isNoncharacterCodePoint
        }
    }

    private static func codePointEscape(_ scalar: Unicode.Scalar) -> String {
        let hex = String(scalar.value, radix: 16, uppercase: true)
        return "<U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex + ">"
    }
}
