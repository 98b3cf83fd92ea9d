import LeadCore

/// Lays a ``FormState`` out on a terminal of a given size: pure, so every screen can be tested without one.
///
/// The form is a column of `label [value] error` rows, the consent checkbox with its text wrapped, the Submit
/// button, a message line when there is one, and the key hints at the bottom. A value longer than its box
/// scrolls so that the cursor stays visible; wide characters (CJK) take two cells. A terminal smaller than
/// ``minimumSize`` (or too short for the form) gets a single "Please enlarge the window".
///
/// ```swift
/// let screen = FormLayout.screen(for: state, size: TerminalSize(columns: 80, lines: 24))
/// screen.lines[0].text  // " Leave your contacts"
/// ```
public enum FormLayout {
    /// The smallest terminal the form is drawn on.
    public static let minimumSize = TerminalSize(columns: 40, lines: 12)
    /// The widest a value box grows.
    public static let maximumBoxWidth = 48

    /// The screen for `state` on a terminal of `size`.
    public static func screen(for state: FormState, size: TerminalSize) -> Screen {
        let texts = FormTexts(state.language)
        guard size.columns >= minimumSize.columns, size.lines >= minimumSize.lines else {
            return enlarge(texts, size: size)
        }
        var canvas = Canvas(size: size)
        switch state.mode {
        case .editing:
            guard layoutForm(state, texts: texts, into: &canvas) else { return enlarge(texts, size: size) }
        case .confirmation(let name):
            let block = [
                [Span(display(texts.thankYou(name)), .bold)],
                [],
                [Span(texts.thankYouDetail)],
            ]
            canvas.centered(block)
        case .staffPIN:
            var block: [[Span]] = [
                [Span(texts.staffTitle, .bold)],
                [],
                [Span(texts.pinPrompt + " "), Span(String(repeating: "*", count: state.pinDigitsEntered))],
            ]
            switch state.banner {
            case .wrongPIN?: block += [[], [Span(texts.wrongPIN, .error)]]
            case .pinLocked?: block += [[], [Span(texts.pinLocked, .error)]]
            default: block += [[], []]
            }
            block += [[], [Span(texts.pinHint, .dim)]]
            let top = canvas.centered(block)
            let promptWidth = DisplayWidth.of(texts.pinPrompt) + 1 + state.pinDigitsEntered
            let left = max(0, (size.columns - maxWidth(block)) / 2)
            canvas.cursor = CursorPosition(row: top + 2, column: min(size.columns - 1, left + promptWidth))
        case .staff(let summary):
            var block: [[Span]] = [[Span(texts.staffTitle, .bold)], []]
            if let summary {
                block.append([Span(texts.leadsToday(summary.leadsToday))])
                block.append([Span(texts.pendingSync(summary.pendingSync))])
            } else {
                block.append([Span(texts.countsUnavailable)])
                block.append([])
            }
            block += [[], [Span(texts.staffHint(kiosk: state.kiosk), .dim)]]
            canvas.centered(block)
        }
        return canvas.screen
    }

    // MARK: - The form

    /// Lays out the form; false when it does not fit.
    private static func layoutForm(_ state: FormState, texts: FormTexts, into canvas: inout Canvas) -> Bool {
        let form = state.form
        let language = state.language
        let columns = canvas.size.columns
        let labels = form.fields.map { spec in
            display(spec.label.text(for: language)) + (spec.required ? "*" : "")
        }
        let marker = 2
        let labelWidth = min(labels.map { DisplayWidth.of($0) }.max() ?? 0, columns / 3)
        let boxStart = marker + labelWidth + 1
        let boxWidth = min(maximumBoxWidth, columns - boxStart - 2)
        guard boxWidth >= 8 else { return false }

        var rows: [[Span]] = []
        var cursor: CursorPosition?
        rows.append([Span(" "), Span(clip(display(form.title.text(for: language)), columns - 2), .bold)])
        rows.append([])

        for (index, spec) in form.fields.enumerated() {
            let focused = state.focus == .field(index)
            var spans: [Span] = [
                Span(focused ? "> " : "  ", .bold),
                Span(pad(clip(labels[index], labelWidth), labelWidth) + " ", focused ? .bold : []),
            ]
            let box: (text: String, cursorCell: Int)
            if spec.type == .choice {
                let label = spec.choices.first { $0.value == state.values[index] }?.label.text(for: language)
                box = (clip("< " + display(label ?? "—") + " >", boxWidth), 2)
            } else {
                box = visibleWindow(
                    state.values[index],
                    cursor: state.cursors[index],
                    width: boxWidth,
                    scroll: focused
                )
            }
            spans.append(Span(pad(box.text, boxWidth), focused ? [.underline, .bold] : .underline))
            if focused { cursor = CursorPosition(row: rows.count, column: boxStart + box.cursorCell) }
            var below: [[Span]] = []
            if let error = state.errors[spec.name] {
                let message = error.message(language)
                let room = columns - (boxStart + boxWidth) - 2
                if DisplayWidth.of(message) <= room {
                    spans.append(Span(" " + message, .error))
                } else {
                    below = wrap(message, width: columns - boxStart - 1).prefix(2).map {
                        [Span(String(repeating: " ", count: boxStart)), Span($0, .error)]
                    }
                }
            }
            rows.append(spans)
            rows += below
        }

        // The consent checkbox, its text wrapped beside the box.
        let consentFocused = state.focus == .consent
        let consentIndent = marker + 4
        let consentText = display(form.consentText.text(for: language)) + (form.consentRequired ? " *" : "")
        let consentLines = wrap(consentText, width: columns - consentIndent - 1)
        for (i, line) in consentLines.enumerated() {
            if i == 0 {
                if consentFocused { cursor = CursorPosition(row: rows.count, column: marker + 1) }
                rows.append([
                    Span(consentFocused ? "> " : "  ", .bold),
                    Span(state.consentChecked ? "[x]" : "[ ]", consentFocused ? [.bold, .reverse] : .bold),
                    Span(" " + line),
                ])
            } else {
                rows.append([Span(String(repeating: " ", count: consentIndent) + line)])
            }
        }
        if let error = state.errors["consent"] {
            for line in wrap(error.message(language), width: columns - consentIndent - 1).prefix(2) {
                rows.append([Span(String(repeating: " ", count: consentIndent)), Span(line, .error)])
            }
        }
        rows.append([])

        let submitFocused = state.focus == .submit
        if submitFocused { cursor = CursorPosition(row: rows.count, column: marker + 2) }
        rows.append([
            Span(submitFocused ? "> " : "  ", .bold),
            Span("[ " + texts.submit + " ]", submitFocused ? [.bold, .reverse] : .bold),
        ])

        let bannerText: String?
        var bannerStyle: TextStyle = [.error, .bold]
        switch state.banner {
        case .storeError?: bannerText = texts.storeError
        case .noStaffPIN?: bannerText = texts.noStaffPIN
        case .scanNotRead?: bannerText = texts.scanNotRead
        case .scanForConsent?:
            bannerText = texts.scanForConsent
            bannerStyle = .bold
        case .wrongPIN?, .pinLocked?, nil: bannerText = nil
        }
        if let bannerText {
            rows.append([])
            for line in wrap(bannerText, width: columns - 2) { rows.append([Span(" "), Span(line, bannerStyle)]) }
        }

        // The hints take the last line.
        guard rows.count <= canvas.size.lines - 1 else { return false }
        for (row, spans) in rows.enumerated() { canvas.put(row, spans) }
        canvas.put(canvas.size.lines - 1, [Span(" "), Span(texts.hints, .dim)])
        canvas.cursor = cursor
        return true
    }

    /// The part of `value` shown in a box `width` cells wide and where the cursor falls in it. Without
    /// `scroll` the value shows from its start; with it the window moves just enough to keep the cursor in.
    static func visibleWindow(_ value: String, cursor: Int, width: Int, scroll: Bool) -> (text: String, cursorCell: Int)
    {
        let characters = Array(value)
        let cursor = min(max(0, cursor), characters.count)
        let widths = characters.map { DisplayWidth.of($0) }
        var start = 0
        if scroll {
            // Keep the cursor's own cell inside the box: at most width - 1 cells before it.
            var cellsBefore = widths[0..<cursor].reduce(0, +)
            while cellsBefore > width - 1, start < cursor {
                cellsBefore -= widths[start]
                start += 1
            }
        }
        var text = ""
        var used = 0
        var cursorCell = 0
        var index = start
        while index < characters.count {
            if used + widths[index] > width { break }
            if index == cursor { cursorCell = used }
            text.append(characters[index])
            used += widths[index]
            index += 1
        }
        if cursor >= index { cursorCell = min(used, width - 1) }
        return (text, cursorCell)
    }

    // MARK: - Other screens

    private static func enlarge(_ texts: FormTexts, size: TerminalSize) -> Screen {
        var canvas = Canvas(size: size)
        guard size.columns > 1, size.lines > 0 else { return canvas.screen }
        canvas.centered(wrap(texts.enlarge, width: size.columns - 1).map { [Span($0, .bold)] })
        return canvas.screen
    }

    private static func maxWidth(_ block: [[Span]]) -> Int {
        block.map { ScreenLine($0).width }.max() ?? 0
    }

    // MARK: - Text helpers

    /// Configuration and visitor text made safe to draw: nothing in it can move the cursor.
    static func display(_ text: String) -> String { InputFilter.printable(text, limit: 10_000) }

    /// The longest prefix of `text` that fits in `width` cells.
    static func clip(_ text: String, _ width: Int) -> String {
        guard width > 0 else { return "" }
        var out = ""
        var used = 0
        for character in text {
            let w = DisplayWidth.of(character)
            if used + w > width { break }
            out.append(character)
            used += w
        }
        return out
    }

    /// `text` padded with spaces to `width` cells.
    static func pad(_ text: String, _ width: Int) -> String {
        let w = DisplayWidth.of(text)
        return w >= width ? text : text + String(repeating: " ", count: width - w)
    }

    /// `text` broken into lines of at most `width` cells, at spaces where possible.
    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        var lines: [String] = []
        var line = ""
        var lineWidth = 0
        for word in text.split(separator: " ", omittingEmptySubsequences: true) {
            var word = String(word)
            var wordWidth = DisplayWidth.of(word)
            if lineWidth > 0 && lineWidth + 1 + wordWidth <= width {
                line += " " + word
                lineWidth += 1 + wordWidth
                continue
            }
            if lineWidth > 0 {
                lines.append(line)
                line = ""
                lineWidth = 0
            }
            while wordWidth > width {
                let head = clip(word, width)
                guard !head.isEmpty else { return lines }
                lines.append(head)
                word.removeFirst(head.count)
                wordWidth = DisplayWidth.of(word)
            }
            line = word
            lineWidth = wordWidth
        }
        if lineWidth > 0 { lines.append(line) }
        return lines
    }
}

/// A screen being filled in: lines clipped to the terminal's width as they are put.
private struct Canvas {
    let size: TerminalSize
    var lines: [ScreenLine]
    var cursor: CursorPosition?

    init(size: TerminalSize) {
        self.size = size
        self.lines = Array(repeating: ScreenLine(), count: max(0, size.lines))
    }

    /// Puts `spans` on line `row`, cut to the width (one cell less on the last line).
    mutating func put(_ row: Int, _ spans: [Span], column: Int = 0) {
        guard row >= 0, row < lines.count else { return }
        let limit = size.columns - (row == lines.count - 1 ? 1 : 0)
        var used = 0
        var out: [Span] = []
        if column > 0 {
            out.append(Span(String(repeating: " ", count: min(column, limit))))
            used = min(column, limit)
        }
        for span in spans {
            let room = limit - used
            guard room > 0 else { break }
            let text = FormLayout.clip(span.text, room)
            if !text.isEmpty { out.append(Span(text, span.style)) }
            used += DisplayWidth.of(text)
        }
        lines[row] = ScreenLine(out)
    }

    /// Puts a block of lines centred on the screen; returns the row of its first line.
    @discardableResult
    mutating func centered(_ block: [[Span]]) -> Int {
        let top = max(0, (size.lines - block.count) / 2)
        let left = max(0, (size.columns - (block.map { ScreenLine($0).width }.max() ?? 0)) / 2)
        for (i, spans) in block.enumerated() where !spans.isEmpty { put(top + i, spans, column: left) }
        return top
    }

    var screen: Screen { Screen(lines: lines, cursor: cursor) }
}
