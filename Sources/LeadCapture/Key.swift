/// One input event of the terminal form, as decoded from the keyboard (or a keyboard-wedge scanner).
///
/// Printable text arrives as ``text(_:)``, possibly several characters at once (a paste, a fast typist);
/// the form cleans it before it reaches a field.
public enum Key: Sendable, Hashable {
    /// One or more characters typed or pasted. Control characters and escape sequences in it are dropped.
    case text(String)
    /// Delete the character before the cursor.
    case backspace
    /// Delete the character under the cursor.
    case delete
    /// Cursor left; a choice field: previous option.
    case left
    /// Cursor right; a choice field: next option.
    case right
    /// Cursor to the start of the field.
    case home
    /// Cursor to the end of the field.
    case end
    /// Next field; on Submit: submit.
    case enter
    /// Next field.
    case tab
    /// Shift-Tab: previous field.
    case backTab
    /// Previous field.
    case up
    /// Next field.
    case down
    /// F2: switch language.
    case f2
    /// F12: the staff key.
    case f12
    /// Back from the staff screens; clears a message.
    case escape
    /// A control character other than Tab, Enter, Backspace and Escape: `0x03` for Ctrl-C, `0x1A` for Ctrl-Z,
    /// `0x1C` for Ctrl-\, `0x04` for Ctrl-D.
    case control(UInt8)
    /// The terminal changed size.
    case resize
}

extension Key {
    /// Ctrl-C, which quits a form that is not in kiosk mode.
    public static let ctrlC = Key.control(0x03)
}
