/// One thing the terminal delivered: a character, or a key ncurses recognised from the terminal's own
/// key sequences (terminfo).
enum RawInput: Sendable, Hashable {
    case scalar(Unicode.Scalar)
    case key(Key)
}

/// What the form gets from the keyboard after decoding.
enum DecodedInput: Sendable, Hashable {
    case key(Key)
    /// The text of a `BEGIN:VCARD`/`MECARD:` a keyboard-wedge scanner typed.
    case card(String)
    /// A keyboard-wedge card longer than ``InputDecoder/maxCardBytes``: dropped.
    case cardTooLong
}

/// Turns the characters and keys of a terminal into form keys, and recognises keyboard-wedge scanners.
///
/// - Printable characters read together become one ``Key/text(_:)``.
/// - Escape sequences ncurses did not know are decoded here when they are common ones (xterm, vt220 and
///   Linux console arrows, Home/End, Delete, Shift-Tab, F2, F12) and swallowed whole otherwise, so that
///   `ESC [ 2 J` never lands in a field as `[2J`.
/// - A burst (input after at least ``burstGapMilliseconds`` of quiet, continuing without such a gap) that
///   starts with `BEGIN:VCARD` or `MECARD:` is collected until `END:VCARD` (or the MECARD's line end, or the
///   burst's end) and delivered as one ``DecodedInput/card(_:)``. The first characters of a burst that might be
///   such a prefix are held back until they cannot be (or the burst pauses), then typed as usual.
struct InputDecoder {
    /// The quiet time that separates bursts; scanners type faster, people slower.
    static let burstGapMilliseconds: Int64 = 30
    /// The longest card collected; longer ones are dropped (DESIGN "Scanner input").
    static let maxCardBytes = 8 * 1024

    private static let vcardPrefix = Array("BEGIN:VCARD".unicodeScalars)
    private static let mecardPrefix = Array("MECARD:".unicodeScalars)
    private static let vcardEnd = Array("END:VCARD".unicodeScalars)

    private enum Phase {
        case normal
        case holding
        case collecting(vcard: Bool)
        case discarding
        case swallowingLineEnd
    }

    private enum Escape {
        case none
        case escape
        case csi(String)
        case linuxFunction
        case ss3
        case string
        case stringEscape
    }

    private var phase = Phase.normal
    private var lastInputAt: Int64 = .min / 2
    private var held: [Unicode.Scalar] = []
    private var card = String.UnicodeScalarView()
    private var cardBytes = 0
    private var escape = Escape.none
    private var text = ""
    private var lastWasCR = false
    private var output: [DecodedInput] = []

    /// When ``expire(now:)`` must be called if no input arrives: the end of a burst with held-back or
    /// collected characters. Nil when nothing is pending.
    var deadline: Int64? {
        if case .normal = phase { return nil }
        return lastInputAt + Self.burstGapMilliseconds
    }

    /// Decodes what one drain of the terminal delivered at `now`.
    mutating func feed(_ inputs: [RawInput], now: Int64) -> [DecodedInput] {
        guard !inputs.isEmpty else { return [] }
        if now - lastInputAt > Self.burstGapMilliseconds { endBurst() }
        var burstStart = now - lastInputAt > Self.burstGapMilliseconds
        lastInputAt = now
        for input in inputs {
            process(input, burstStart: burstStart)
            burstStart = false
        }
        return finish(endOfDrain: true)
    }

    /// Ends a burst that has paused: held-back characters are typed, a card without its end is delivered.
    mutating func expire(now: Int64) -> [DecodedInput] {
        guard let due = deadline, now >= due else { return [] }
        endBurst()
        return finish(endOfDrain: true)
    }

    private mutating func endBurst() {
        switch phase {
        case .holding:
            let pending = held
            held = []
            phase = .normal
            for scalar in pending { translate(.scalar(scalar)) }
        case .collecting:
            deliverCard()
            phase = .normal
        case .discarding, .swallowingLineEnd:
            phase = .normal
        case .normal:
            break
        }
    }

    private mutating func process(_ input: RawInput, burstStart: Bool) {
        switch phase {
        case .normal:
            if burstStart, case .scalar(let scalar) = input, escapeIsIdle,
                Self.startsPrefix([scalar])
            {
                held = [scalar]
                phase = .holding
                promoteHeld()
            } else {
                translate(input)
            }
        case .holding:
            guard case .scalar(let scalar) = input else {
                flushHeld()
                translate(input)
                return
            }
            held.append(scalar)
            if Self.startsPrefix(held) {
                promoteHeld()
            } else {
                flushHeld()
            }
        case .collecting(let vcard):
            let scalar: Unicode.Scalar
            switch input {
            case .scalar(let s): scalar = s
            case .key(.enter): scalar = "\r"
            case .key(.tab): scalar = "\t"
            case .key: return
            }
            if !vcard && (scalar == "\r" || scalar == "\n") {
                deliverCard()
                phase = .swallowingLineEnd
                return
            }
            card.append(scalar)
            cardBytes += UTF8.width(scalar)
            if cardBytes > Self.maxCardBytes {
                card = String.UnicodeScalarView()
                cardBytes = 0
                output.append(.cardTooLong)
                phase = .discarding
                return
            }
            if vcard && Self.endsWithVCardEnd(card) {
                deliverCard()
                phase = .swallowingLineEnd
            }
        case .discarding:
            return
        case .swallowingLineEnd:
            if case .scalar(let s) = input, s == "\r" || s == "\n" { return }
            if input == .key(.enter) { return }
            phase = .normal
            translate(input)
        }
    }

    private var escapeIsIdle: Bool {
        if case .none = escape { return true }
        return false
    }

    /// Moves the held characters into a card once they spell a whole prefix.
    private mutating func promoteHeld() {
        let upper = held.map(Self.asciiUpper)
        if upper == Self.vcardPrefix || upper == Self.mecardPrefix {
            flushText()
            card = String.UnicodeScalarView(held)
            cardBytes = held.count
            held = []
            phase = .collecting(vcard: upper == Self.vcardPrefix)
        }
    }

    private mutating func flushHeld() {
        let pending = held
        held = []
        phase = .normal
        for scalar in pending { translate(.scalar(scalar)) }
    }

    private mutating func deliverCard() {
        flushText()
        if !card.isEmpty { output.append(.card(String(card))) }
        card = String.UnicodeScalarView()
        cardBytes = 0
    }

    private static func startsPrefix(_ scalars: [Unicode.Scalar]) -> Bool {
        let upper = scalars.map(asciiUpper)
        return vcardPrefix.starts(with: upper) || mecardPrefix.starts(with: upper)
    }

    private static func endsWithVCardEnd(_ card: String.UnicodeScalarView) -> Bool {
        var tail: [Unicode.Scalar] = []
        for scalar in card.reversed() {
            if scalar == "\r" || scalar == "\n" || scalar == " ", tail.isEmpty { continue }
            tail.insert(asciiUpper(scalar), at: 0)
            if tail.count == vcardEnd.count { break }
        }
        return tail == vcardEnd
    }

    private static func asciiUpper(_ scalar: Unicode.Scalar) -> Unicode.Scalar {
        (0x61...0x7A).contains(scalar.value) ? Unicode.Scalar(scalar.value - 0x20)! : scalar
    }

    // MARK: - Keys

    /// Turns one character or key into form keys, through the escape-sequence decoder.
    private mutating func translate(_ input: RawInput) {
        let scalar: Unicode.Scalar
        switch input {
        case .key(let key):
            abandonEscape()
            emit(key)
            return
        case .scalar(let s):
            scalar = s
        }
        let v = scalar.value
        switch escape {
        case .none:
            break
        case .escape:
            switch v {
            case 0x5B: escape = .csi("")
            case 0x4F: escape = .ss3
            case 0x5D, 0x50, 0x58, 0x5E, 0x5F: escape = .string
            case 0x1B: emit(.escape)  // ESC ESC: the first one was a plain Escape key
            default: escape = .none  // Alt + a key: both dropped
            }
            return
        case .csi(let parameters):
            if parameters.isEmpty && v == 0x5B {
                escape = .linuxFunction
            } else if (0x20...0x3F).contains(v) {
                escape = .csi(parameters + String(scalar))
            } else if (0x40...0x7E).contains(v) {
                escape = .none
                if let key = Self.csiKey(parameters, final: scalar) { emit(key) }
            } else {
                escape = .none  // broken: the sequence ends here and the character is dropped with it
            }
            return
        case .linuxFunction:
            escape = .none
            if scalar == "B" { emit(.f2) }
            return
        case .ss3:
            escape = .none
            if let key = Self.ss3Key(scalar) { emit(key) }
            return
        case .string:
            if v == 0x07 || v == 0x9C { escape = .none } else if v == 0x1B { escape = .stringEscape }
            return
        case .stringEscape:
            escape = v == 0x5C ? .none : .string
            return
        }
        if v != 0x0A { lastWasCR = false }
        switch v {
        case 0x0D:
            emit(.enter)
            lastWasCR = true
        case 0x0A:
            // CR LF from a paste is one line end.
            if !lastWasCR { emit(.enter) }
            lastWasCR = false
        case 0x09: emit(.tab)
        case 0x08, 0x7F: emit(.backspace)
        case 0x1B:
            flushText()
            escape = .escape
        case 0x00...0x1F: emit(.control(UInt8(v)))
        default:
            if let printable = InputFilter.printableScalar(scalar) { text.unicodeScalars.append(printable) }
        }
    }

    private mutating func abandonEscape() {
        if case .escape = escape { output.append(.key(.escape)) }
        escape = .none
    }

    private mutating func emit(_ key: Key) {
        flushText()
        output.append(.key(key))
    }

    private mutating func flushText() {
        guard !text.isEmpty else { return }
        output.append(.key(.text(text)))
        text = ""
    }

    private mutating func finish(endOfDrain: Bool) -> [DecodedInput] {
        // ncurses already waited ESCDELAY for the rest of a sequence: an ESC left over is the Escape key.
        if endOfDrain, case .escape = escape {
            escape = .none
            emit(.escape)
        }
        flushText()
        defer { output = [] }
        return output
    }

    private static func csiKey(_ parameters: String, final: Unicode.Scalar) -> Key? {
        switch final {
        case "A": return .up
        case "B": return .down
        case "C": return .right
        case "D": return .left
        case "H": return .home
        case "F": return .end
        case "Z": return .backTab
        case "~":
            let first = parameters.split(separator: ";").first.map(String.init) ?? ""
            switch first {
            case "1", "7": return .home
            case "4", "8": return .end
            case "3": return .delete
            case "12": return .f2
            case "24": return .f12
            default: return nil
            }
        default: return nil
        }
    }

    private static func ss3Key(_ scalar: Unicode.Scalar) -> Key? {
        switch scalar {
        case "A": .up
        case "B": .down
        case "C": .right
        case "D": .left
        case "H": .home
        case "F": .end
        case "M": .enter
        case "Q": .f2
        default: nil
        }
    }
}
