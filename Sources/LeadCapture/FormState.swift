public import LeadCore

/// The terminal form as a pure state machine: the text of every field, the cursor, the focus, the language,
/// consent, the errors shown and the screen the visitor sees. It does no I/O: ``handle(_:now:)`` and
/// ``tick(now:)`` return the ``FormEffect``s the caller carries out (validate, store, record funnel events).
///
/// Times are milliseconds on any monotonic clock, the same for every call.
///
/// ```swift
/// var state = FormState(form: .default, language: .en, kiosk: true, staffPIN: "2468")
/// state.handle(.text("Anna"), now: 0)  // [.started]
/// state.value(of: "first_name")        // "Anna"
/// ```
public struct FormState: Sendable {
    /// Where the keyboard goes: a field (by index in the form), the consent checkbox or the Submit button.
    public enum Focus: Sendable, Hashable {
        /// A field, by its index in ``FormSpec/fields``.
        case field(Int)
        /// The consent checkbox.
        case consent
        /// The Submit button.
        case submit
    }

    /// What fills the screen.
    public enum Mode: Sendable, Hashable {
        /// The form.
        case editing
        /// "Thank you, NAME!" after a stored lead; the form behind it is already wiped.
        case confirmation(name: String)
        /// The staff PIN prompt after F12.
        case staffPIN
        /// The staff screen, with its counts once the caller has loaded them.
        case staff(StaffSummary?)
    }

    /// A one-line message over the form.
    public enum Banner: Sendable, Hashable {
        /// Storing the lead failed: call staff; the typed lead stays to retry.
        case storeError
        /// F12 in kiosk mode without a configured PIN.
        case noStaffPIN
        /// The PIN typed after F12 was wrong.
        case wrongPIN
        /// Too many wrong PINs: the prompt refuses PINs for a while.
        case pinLocked
        /// A keyboard-wedge scan arrived but could not be read.
        case scanNotRead
        /// A `Consent=form` scan filled the form: check, consent, submit.
        case scanForConsent
    }

    /// The counts on the staff screen.
    public struct StaffSummary: Sendable, Hashable {
        /// Leads captured since local midnight.
        public var leadsToday: Int
        /// Leads not yet delivered to every sink.
        public var pendingSync: Int

        /// Creates the summary.
        public init(leadsToday: Int, pendingSync: Int) {
            self.leadsToday = leadsToday
            self.pendingSync = pendingSync
        }
    }

    /// Wrong PINs in a row before the prompt locks.
    public static let wrongPINLimit = 3
    /// How long the PIN prompt stays locked after ``wrongPINLimit`` wrong PINs.
    public static let pinLockMilliseconds: Int64 = 30_000
    /// The longest PIN the prompt takes.
    public static let maxPINLength = 32

    /// The form being filled.
    public let form: FormSpec
    /// Kiosk mode: control keys do nothing and only F12 + PIN leaves the form.
    public let kiosk: Bool
    /// The language a fresh form starts in.
    public let initialLanguage: Language
    /// Input-free time after which a started form is wiped (and the staff screens close); 0 never.
    public let idleResetMilliseconds: Int64
    /// How long the confirmation screen stays.
    public let confirmationMilliseconds: Int64
    private let staffPIN: [UInt8]?

    /// The language labels, hints and errors are shown in.
    public private(set) var language: Language
    /// The text of each field, in form order; for a choice field the chosen value (empty: none).
    public private(set) var values: [String]
    /// The cursor of each field, in characters from the start of its text.
    public private(set) var cursors: [Int]
    /// Where the keyboard goes.
    public private(set) var focus: Focus
    /// Whether the consent checkbox is ticked.
    public private(set) var consentChecked: Bool
    /// The errors shown beside fields, by field name (`consent` for the checkbox).
    public private(set) var errors: [String: FieldError]
    /// What fills the screen.
    public private(set) var mode: Mode
    /// The message shown over the form, if any.
    public private(set) var banner: Banner?
    /// Whether anybody has pressed a key on this form since it was fresh.
    public private(set) var isStarted: Bool
    private var pinEntry: [UInt8] = []
    private var lastInputAt: Int64 = 0
    private var confirmationAt: Int64 = 0
    private var wrongPINs = 0
    private var pinLockedUntil: Int64 = .min

    /// Creates a fresh, empty form.
    ///
    /// - Parameters:
    ///   - form: The fields and consent text.
    ///   - language: The language a fresh form starts in.
    ///   - kiosk: Lock the form down (`[Terminal] Kiosk=`).
    ///   - staffPIN: The PIN that opens the staff screen after F12; nil or empty when none is configured.
    ///   - idleResetMilliseconds: Input-free time after which a started form is wiped; 0 never.
    ///   - confirmationMilliseconds: How long "Thank you" stays on screen.
    public init(
        form: FormSpec,
        language: Language,
        kiosk: Bool,
        staffPIN: String?,
        idleResetMilliseconds: Int64 = 60_000,
        confirmationMilliseconds: Int64 = 5_000
    ) {
        self.form = form
        self.kiosk = kiosk
        self.initialLanguage = language
        self.idleResetMilliseconds = idleResetMilliseconds
        self.confirmationMilliseconds = confirmationMilliseconds
        self.staffPIN = staffPIN.flatMap { $0.isEmpty ? nil : Array($0.utf8) }
        self.language = language
        self.values = Array(repeating: "", count: form.fields.count)
        self.cursors = Array(repeating: 0, count: form.fields.count)
        self.focus = form.fields.isEmpty ? .consent : .field(0)
        self.consentChecked = false
        self.errors = [:]
        self.mode = .editing
        self.banner = nil
        self.isStarted = false
    }

    // MARK: - Reading

    /// The text of the field named `name`, or nil when the form has no such field.
    public func value(of name: String) -> String? {
        form.fields.firstIndex { $0.name == name }.map { values[$0] }
    }

    /// How many PIN digits have been typed at the prompt (the digits themselves are never shown).
    public var pinDigitsEntered: Int { pinEntry.count }

    /// Field name → text for every non-empty field, as handed to the validator.
    public var rawValues: [String: String] {
        var raw: [String: String] = [:]
        for (index, spec) in form.fields.enumerated() where !values[index].isEmpty { raw[spec.name] = values[index] }
        return raw
    }

    /// When ``tick(now:)`` has something to do (end the confirmation, wipe an idle form), or nil when
    /// nothing is due and the caller may wait for input indefinitely.
    public var deadline: Int64? {
        switch mode {
        case .confirmation:
            return confirmationAt + confirmationMilliseconds
        case .staffPIN, .staff:
            return idleResetMilliseconds > 0 ? lastInputAt + idleResetMilliseconds : nil
        case .editing:
            return isStarted && idleResetMilliseconds > 0 ? lastInputAt + idleResetMilliseconds : nil
        }
    }

    // MARK: - Input

    /// Applies one key.
    ///
    /// - Returns: What the caller has to do; empty for most keys.
    public mutating func handle(_ key: Key, now: Int64) -> [FormEffect] {
        if key == .resize { return [] }
        lastInputAt = now
        if case .control(let code) = key {
            // Ctrl-C quits only outside kiosk mode; every other control key (Ctrl-Z, Ctrl-\, Ctrl-D…) is
            // inert: the terminal is in raw mode, so none of them raises a signal either.
            return !kiosk && code == 0x03 ? [.quit] : []
        }
        switch mode {
        case .confirmation:
            if key == .enter || key == .escape {
                reset()
                return [.freshForm]
            }
            return []
        case .staffPIN:
            return handlePIN(key, now: now)
        case .staff:
            return handleStaff(key)
        case .editing:
            return handleEditing(key)
        }
    }

    /// Runs the timers: ends the confirmation screen, wipes a started form (or closes the staff screens)
    /// after ``idleResetMilliseconds`` without input.
    public mutating func tick(now: Int64) -> [FormEffect] {
        guard let due = deadline, now >= due else { return [] }
        if case .confirmation = mode {
            reset()
            return [.freshForm]
        }
        let wasStarted = isStarted
        reset()
        return wasStarted ? [.idleReset, .freshForm] : []
    }

    private mutating func handleEditing(_ key: Key) -> [FormEffect] {
        switch key {
        case .f12:
            return staffKey()
        case .escape:
            if banner != .storeError { banner = nil }
            return []
        default:
            break
        }
        var effects: [FormEffect] = []
        if !isStarted {
            isStarted = true
            effects.append(.started)
        }
        if banner != .storeError { banner = nil }
        switch key {
        case .f2:
            language = language == .en ? .ru : .en
            effects.append(.languageChanged)
        case .tab, .down:
            moveFocus(by: 1)
        case .backTab, .up:
            moveFocus(by: -1)
        case .enter:
            if focus == .submit {
                effects.append(.submit(raw: rawValues, consentGiven: consentChecked))
            } else {
                moveFocus(by: 1)
            }
        case .text(let text):
            typeText(text)
        case .backspace, .delete, .left, .right, .home, .end:
            edit(key)
        case .f12, .escape, .control, .resize:
            break
        }
        return effects
    }

    private mutating func typeText(_ text: String) {
        switch focus {
        case .field(let index):
            let spec = form.fields[index]
            if spec.type == .choice {
                for scalar in text.unicodeScalars where scalar == " " { cycleChoice(index, by: 1) }
                return
            }
            insert(text, into: index)
        case .consent:
            for scalar in text.unicodeScalars where scalar == " " { toggleConsent() }
        case .submit:
            break
        }
    }

    private mutating func insert(_ text: String, into index: Int) {
        let spec = form.fields[index]
        let current = values[index]
        let room = spec.maxLength - current.count
        let clean = InputFilter.printable(text, limit: room)
        guard !clean.isEmpty else { return }
        let cursor = min(cursors[index], current.count)
        let split = current.index(current.startIndex, offsetBy: cursor)
        let suffix = current[split...]
        var updated = String(current[..<split]) + clean + suffix
        if updated.count > spec.maxLength { updated = String(updated.prefix(spec.maxLength)) }
        values[index] = updated
        cursors[index] = max(0, min(updated.count, updated.count - suffix.count))
        errors[spec.name] = nil
    }

    private mutating func edit(_ key: Key) {
        guard case .field(let index) = focus else { return }
        let spec = form.fields[index]
        if spec.type == .choice {
            switch key {
            case .left: cycleChoice(index, by: -1)
            case .right: cycleChoice(index, by: 1)
            case .backspace, .delete:
                if !spec.required {
                    values[index] = ""
                    errors[spec.name] = nil
                }
            default: break
            }
            return
        }
        var characters = Array(values[index])
        var cursor = min(cursors[index], characters.count)
        switch key {
        case .left: cursor = max(0, cursor - 1)
        case .right: cursor = min(characters.count, cursor + 1)
        case .home: cursor = 0
        case .end: cursor = characters.count
        case .backspace:
            guard cursor > 0 else { return }
            characters.remove(at: cursor - 1)
            cursor -= 1
            errors[spec.name] = nil
        case .delete:
            guard cursor < characters.count else { return }
            characters.remove(at: cursor)
            errors[spec.name] = nil
        default: return
        }
        values[index] = String(characters)
        // Removing a character can let its neighbours join into one (a combining mark after a deletion).
        cursors[index] = min(cursor, values[index].count)
    }

    private mutating func cycleChoice(_ index: Int, by step: Int) {
        let spec = form.fields[index]
        guard !spec.choices.isEmpty else { return }
        // An optional choice can go back to "none"; a required one only moves among the options.
        let options: [String] = (spec.required ? [] : [""]) + spec.choices.map(\.value)
        let position = options.firstIndex(of: values[index])
        let next: Int
        if let position {
            next = (position + step % options.count + options.count) % options.count
        } else {
            next = step > 0 ? 0 : options.count - 1
        }
        values[index] = options[next]
        errors[spec.name] = nil
    }

    private mutating func toggleConsent() {
        consentChecked.toggle()
        errors["consent"] = nil
    }

    private mutating func moveFocus(by step: Int) {
        let order = focusOrder
        let position = order.firstIndex(of: focus) ?? 0
        focus = order[(position + step % order.count + order.count) % order.count]
        if case .field(let index) = focus { cursors[index] = values[index].count }
    }

    private var focusOrder: [Focus] { form.fields.indices.map(Focus.field) + [.consent, .submit] }

    // MARK: - Staff

    private mutating func staffKey() -> [FormEffect] {
        guard staffPIN != nil else {
            if kiosk {
                banner = .noStaffPIN
                return []
            }
            mode = .staff(nil)
            return [.leaveKiosk]
        }
        pinEntry = []
        banner = nil
        mode = .staffPIN
        return []
    }

    private mutating func handlePIN(_ key: Key, now: Int64) -> [FormEffect] {
        switch key {
        case .text(let text):
            banner = nil
            for byte in text.utf8 where (0x30...0x39).contains(byte) && pinEntry.count < Self.maxPINLength {
                pinEntry.append(byte)
            }
        case .backspace:
            if !pinEntry.isEmpty { pinEntry.removeLast() }
        case .escape, .f12:
            pinEntry = []
            banner = nil
            mode = .editing
        case .enter:
            let entered = pinEntry
            pinEntry = []
            if now < pinLockedUntil {
                banner = .pinLocked
                return []
            }
            if let pin = staffPIN, Self.constantTimeEqual(entered, pin) {
                wrongPINs = 0
                banner = nil
                mode = .staff(nil)
                return [.leaveKiosk]
            }
            wrongPINs += 1
            if wrongPINs >= Self.wrongPINLimit {
                wrongPINs = 0
                pinLockedUntil = now + Self.pinLockMilliseconds
                banner = .pinLocked
            } else {
                banner = .wrongPIN
            }
        default:
            break
        }
        return []
    }

    private mutating func handleStaff(_ key: Key) -> [FormEffect] {
        switch key {
        case .escape, .f12, .enter:
            mode = .editing
            return [.staffExitRequested]
        case .text(let text) where !kiosk:
            // Q, or the key in Q's place on a Russian layout.
            return text.contains(where: { "qQйЙ".contains($0) }) ? [.quit] : []
        default:
            return []
        }
    }

    /// Compares every byte whatever the first difference, so the time taken does not tell how much of a
    /// guess was right.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(truncatingIfNeeded: a.count ^ b.count)
        if a.count != b.count { difference |= 1 }
        let length = max(a.count, b.count)
        for i in 0..<length {
            let x = i < a.count ? a[i] : 0
            let y = i < b.count ? b[i] : 0
            difference |= x ^ y
        }
        return difference == 0
    }

    // MARK: - Results from the caller

    /// Shows the validator's errors beside their fields and moves the focus to the first of them.
    public mutating func applyValidation(_ errors: ValidationErrors) {
        var shown: [String: FieldError] = [:]
        for error in errors.errors where shown[error.field] == nil { shown[error.field] = error }
        self.errors = shown
        banner = nil
        mode = .editing
        for error in errors.errors {
            if error.field == "consent" {
                focus = .consent
                return
            }
            if let index = form.fields.firstIndex(where: { $0.name == error.field }) {
                focus = .field(index)
                cursors[index] = values[index].count
                return
            }
        }
    }

    /// Shows "Thank you, NAME!" and wipes the form behind it: the lead is stored.
    ///
    /// - Parameters:
    ///   - name: The visitor's name as stored (may be empty).
    ///   - now: The time the screen appears; it stays for ``confirmationMilliseconds``.
    public mutating func showConfirmation(name: String, now: Int64) {
        let keep = language
        reset()
        language = keep
        mode = .confirmation(name: name)
        confirmationAt = now
    }

    /// Shows the calm "please call staff" message; the typed lead stays to retry.
    public mutating func showStoreError() {
        mode = .editing
        banner = .storeError
    }

    /// Hands the staff screen its counts (nil when they could not be read).
    public mutating func showStaffSummary(_ summary: StaffSummary?) {
        if case .staff = mode { mode = .staff(summary) }
    }

    /// Fills the form from a keyboard-wedge scan: every field the card has a value for, then the focus on the
    /// first empty required field (or consent, or Submit).
    ///
    /// - Parameters:
    ///   - fields: Field name → decoded value; names the form does not have are ignored.
    ///   - now: When the scan arrived (it counts as input for the idle timer).
    /// - Returns: `[.started]` when this begins a fresh form.
    public mutating func fill(_ fields: [String: String], now: Int64) -> [FormEffect] {
        guard mode == .editing else { return [] }
        lastInputAt = now
        var effects: [FormEffect] = []
        if !isStarted {
            isStarted = true
            effects.append(.started)
        }
        banner = nil
        for (index, spec) in form.fields.enumerated() {
            guard let decoded = fields[spec.name] else { continue }
            if spec.type == .choice {
                let folded = decoded.lowercased()
                if let choice = spec.choices.first(where: {
                    $0.value.lowercased() == folded || $0.label.text(for: language).lowercased() == folded
                }) {
                    values[index] = choice.value
                }
            } else {
                let clean = InputFilter.printable(decoded, limit: spec.maxLength)
                guard !clean.isEmpty else { continue }
                values[index] = clean
                cursors[index] = clean.count
            }
            errors[spec.name] = nil
        }
        if let index = form.fields.indices.first(where: { form.fields[$0].required && values[$0].isEmpty }) {
            focus = .field(index)
        } else if form.consentRequired && !consentChecked {
            focus = .consent
        } else {
            focus = .submit
        }
        return effects
    }

    /// Whether a `Consent=form` scan may replace what is on screen: the form or the thank-you, not the staff
    /// screens.
    public var acceptsScan: Bool {
        switch mode {
        case .editing, .confirmation: true
        case .staffPIN, .staff: false
        }
    }

    /// Asks the visitor to check the scanned data, consent and submit.
    public mutating func showScanForConsent() {
        if mode == .editing { banner = .scanForConsent }
    }

    /// Shows that a scan arrived but could not be read.
    public mutating func showScanNotRead() {
        if mode == .editing { banner = .scanNotRead }
    }

    /// Wipes everything: every field, consent, errors, messages, the PIN typed; back to the first field in the
    /// initial language.
    public mutating func reset() {
        language = initialLanguage
        values = Array(repeating: "", count: form.fields.count)
        cursors = Array(repeating: 0, count: form.fields.count)
        focus = form.fields.isEmpty ? .consent : .field(0)
        consentChecked = false
        errors = [:]
        mode = .editing
        banner = nil
        isStarted = false
        pinEntry = []
    }
}
