/// A terminal's size in character cells.
public struct TerminalSize: Sendable, Hashable {
    /// Cells per line.
    public var columns: Int
    /// Lines.
    public var lines: Int

    /// Creates a size.
    public init(columns: Int, lines: Int) {
        self.columns = columns
        self.lines = lines
    }
}

/// How a span of text is drawn. Terminals without colour show `error` as bold.
public struct TextStyle: OptionSet, Sendable, Hashable {
    /// The style's bits.
    public let rawValue: UInt8

    /// Creates a style from its bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Bold: titles, the focused label, buttons.
    public static let bold = TextStyle(rawValue: 1 << 0)
    /// Reverse video: the focused checkbox or button.
    public static let reverse = TextStyle(rawValue: 1 << 1)
    /// Underlined: the value boxes.
    public static let underline = TextStyle(rawValue: 1 << 2)
    /// An error message: red where the terminal has colour.
    public static let error = TextStyle(rawValue: 1 << 3)
    /// Dim: the key hints.
    public static let dim = TextStyle(rawValue: 1 << 4)
}

/// A run of text in one style.
public struct Span: Sendable, Hashable {
    /// The text: printable characters only.
    public var text: String
    /// How it is drawn.
    public var style: TextStyle

    /// Creates a span.
    public init(_ text: String, _ style: TextStyle = []) {
        self.text = text
        self.style = style
    }
}

/// One line of the screen: spans drawn one after the other from the first column.
public struct ScreenLine: Sendable, Hashable {
    /// The spans, left to right.
    public var spans: [Span]

    /// Creates a line.
    public init(_ spans: [Span] = []) { self.spans = spans }

    /// The line's text without styles.
    public var text: String { spans.map(\.text).joined() }

    /// The cells the line takes.
    public var width: Int { spans.reduce(0) { $0 + DisplayWidth.of($1.text) } }
}

/// A cell position on the screen, both from 0.
public struct CursorPosition: Sendable, Hashable {
    /// The line.
    public var row: Int
    /// The cell.
    public var column: Int

    /// Creates a position.
    public init(row: Int, column: Int) {
        self.row = row
        self.column = column
    }
}

/// Everything to draw: exactly one ``ScreenLine`` per terminal line, none wider than the terminal (the last
/// one a cell narrower, so drawing it never scrolls), and where the cursor goes (nil: hidden).
public struct Screen: Sendable, Hashable {
    /// The lines, top to bottom.
    public var lines: [ScreenLine]
    /// Where the cursor is shown, or nil to hide it.
    public var cursor: CursorPosition?

    /// Creates a screen.
    public init(lines: [ScreenLine], cursor: CursorPosition?) {
        self.lines = lines
        self.cursor = cursor
    }

    /// All lines' text joined with newlines (for tests and logs).
    public var text: String { lines.map(\.text).joined(separator: "\n") }
}
