/// What the caller of ``FormState/handle(_:now:)`` or ``FormState/tick(now:)`` has to do next.
public enum FormEffect: Sendable, Hashable {
    /// The first keystroke on a fresh form: record the funnel's `start` event.
    case started
    /// Enter on Submit: validate `raw` (field name → text as typed; empty fields left out), then either
    /// ``FormState/applyValidation(_:)`` or store the lead and ``FormState/showConfirmation(name:now:)``.
    case submit(raw: [String: String], consentGiven: Bool)
    /// F2 switched the language.
    case languageChanged
    /// F12 and the right staff PIN (or F12 without a PIN outside kiosk mode): the staff screen is open;
    /// load its counts and hand them to ``FormState/showStaffSummary(_:)``.
    case leaveKiosk
    /// The staff screen was left back to the form.
    case staffExitRequested
    /// A fresh, empty form is on screen after a confirmation or an idle reset: record the funnel's `view`.
    case freshForm
    /// A form somebody had started was wiped for lack of input: record the funnel's `idle_reset`.
    case idleReset
    /// Leave the program: Ctrl-C, or Q on the staff screen, outside kiosk mode only.
    case quit
}
