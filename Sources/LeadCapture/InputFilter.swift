/// Turns whatever a keyboard, a paste or a keyboard-wedge scanner delivered into text that may enter a field.
enum InputFilter {
    /// The printable text of `text`, at most `limit` characters.
    ///
    /// Escape sequences (CSI, SS3, OSC, DCS and two-character ones) are removed whole, not just their ESC;
    /// C0 and C1 controls, DEL, invisible format characters (except ZWJ and ZWNJ), line separators,
    /// noncharacters and U+FFFD (the mark of bytes that were not valid UTF-8) are removed; other space
    /// separators become a plain space. Work stops once enough characters are kept, so a 100 000-character
    /// paste into a 200-character field costs little.
    static func printable(_ text: String, limit: Int) -> String {
        guard limit > 0 else { return "" }
        var out = String.UnicodeScalarView()
        // A character is rarely more than a few scalars; the cap bounds the work on "zalgo" text.
        let scalarCap = limit * 8 + 64
        var kept = 0
        var state = EscapeState.normal
        for scalar in text.unicodeScalars {
            switch state {
            case .normal:
                switch scalar.value {
                case 0x1B: state = .escape
                case 0x9B: state = .csi
                case 0x9D, 0x90, 0x98, 0x9E, 0x9F: state = .string
                default:
                    guard let kept1 = printableScalar(scalar) else { continue }
                    out.append(kept1)
                    kept += 1
                }
            case .escape:
                switch scalar.value {
                case 0x5B: state = .csi  // [
                case 0x4F: state = .ss3  // O
                case 0x5D, 0x50, 0x58, 0x5E, 0x5F: state = .string  // ] P X ^ _
                case 0x20...0x2F: state = .escapeIntermediate
                case 0x1B: state = .escape
                default: state = .normal  // ESC + one character (Alt-key): both dropped
                }
            case .escapeIntermediate:
                if !(0x20...0x2F).contains(scalar.value) { state = .normal }
            case .csi:
                switch scalar.value {
                case 0x20...0x3F: continue
                case 0x40...0x7E: state = .normal
                case 0x1B: state = .escape
                default: state = .normal  // a broken sequence ends at the first byte that cannot belong to it
                }
            case .ss3:
                state = scalar.value == 0x1B ? .escape : .normal
            case .string:
                switch scalar.value {
                case 0x07, 0x9C: state = .normal
                case 0x1B: state = .stringEscape
                default: continue
                }
            case .stringEscape:
                state = scalar.value == 0x5C ? .normal : .string
            }
            if kept >= scalarCap { break }
        }
        let result = String(out)
        return kept > limit ? String(result.prefix(limit)) : result
    }

    /// The scalar as it may appear in a field (other spaces become U+0020), or nil when it must not.
    static func printableScalar(_ scalar: Unicode.Scalar) -> Unicode.Scalar? {
        let v = scalar.value
        switch v {
        case 0x20: return scalar
        case 0x21...0x7E: return scalar
        case 0x00...0x1F, 0x7F...0x9F: return nil
        case 0xFFFD: return nil
        case 0x200C, 0x200D: return scalar  // ZWNJ, ZWJ: emoji sequences and several scripts need them
        case 0x115F, 0x1160, 0x3164, 0xFFA0: return nil  // Hangul fillers render as nothing
        case 0xFDD0...0xFDEF: return nil
        default:
            if v & 0xFFFE == 0xFFFE { return nil }  // noncharacters U+xFFFE, U+xFFFF
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate: return nil
            case .spaceSeparator: return " "
            default: return scalar
            }
        }
    }

    private enum EscapeState {
        case normal, escape, escapeIntermediate, csi, ss3, string, stringEscape
    }
}
