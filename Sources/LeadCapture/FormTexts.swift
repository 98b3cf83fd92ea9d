public import LeadCore

/// The form's built-in texts in English and Russian; labels, the title and the consent text come from the
/// configuration.
public struct FormTexts: Sendable, Hashable {
    /// The language of these texts.
    public let language: Language

    /// The texts in `language`.
    public init(_ language: Language) { self.language = language }

    private func pick(_ en: String, _ ru: String) -> String { language == .en ? en : ru }

    /// The key hints on the bottom line.
    public var hints: String {
        pick(
            "Tab/↓ next · Shift-Tab/↑ back · Space toggle · F2 Русский",
            "Tab/↓ далее · Shift-Tab/↑ назад · Пробел отметить · F2 English"
        )
    }
    /// The Submit button.
    public var submit: String { pick("Submit", "Отправить") }
    /// "Thank you, NAME!", or "Thank you!" without a name.
    public func thankYou(_ name: String) -> String {
        name.isEmpty ? pick("Thank you!", "Спасибо!") : pick("Thank you, \(name)!", "Спасибо, \(name)!")
    }
    /// The line under the thank-you.
    public var thankYouDetail: String { pick("Your details have been saved.", "Ваши данные сохранены.") }
    /// The calm message when storing the lead failed.
    public var storeError: String {
        pick(
            "Something went wrong — please call a member of staff. Your details are still here.",
            "Что-то пошло не так — пожалуйста, позовите сотрудника стенда. Ваши данные остались на экране."
        )
    }
    /// F12 in kiosk mode without a configured PIN.
    public var noStaffPIN: String { pick("No staff PIN configured", "PIN сотрудника не настроен") }
    /// The staff PIN prompt.
    public var pinPrompt: String { pick("Staff PIN:", "PIN сотрудника:") }
    /// A wrong PIN.
    public var wrongPIN: String { pick("Wrong PIN", "Неверный PIN") }
    /// Too many wrong PINs.
    public var pinLocked: String {
        pick("Too many wrong PINs — try again in 30 seconds", "Слишком много неверных PIN — повторите через 30 секунд")
    }
    /// Under the PIN prompt.
    public var pinHint: String {
        pick("Enter: confirm · Esc: back to the form", "Enter: подтвердить · Esc: вернуться к форме")
    }
    /// A keyboard-wedge scan that could not be read.
    public var scanNotRead: String {
        pick(
            "The scanned card could not be read — please type your details",
            "Не удалось прочитать отсканированную карточку — введите данные вручную"
        )
    }
    /// Over a form filled from a `Consent=form` scan.
    public var scanForConsent: String {
        pick(
            "Badge read — please check your details, tick the consent box and press Submit",
            "Бейдж прочитан — проверьте данные, отметьте согласие и нажмите «Отправить»"
        )
    }
    /// The staff screen's title.
    public var staffTitle: String { pick("Staff", "Сотрудник") }
    /// "Leads today: N".
    public func leadsToday(_ count: Int) -> String { pick("Leads today: \(count)", "Контактов сегодня: \(count)") }
    /// "Waiting to sync: N".
    public func pendingSync(_ count: Int) -> String { pick("Waiting to sync: \(count)", "Ожидают отправки: \(count)") }
    /// When the staff screen's counts could not be read (yet).
    public var countsUnavailable: String { pick("Counts unavailable", "Счётчики недоступны") }
    /// How to leave the staff screen; outside kiosk mode also how to quit.
    public func staffHint(kiosk: Bool) -> String {
        kiosk
            ? pick("Esc: back to the form", "Esc: вернуться к форме")
            : pick("Esc: back to the form · Q: quit", "Esc: вернуться к форме · Q: выйти")
    }
    /// Shown instead of the form when the terminal is too small.
    public var enlarge: String { pick("Please enlarge the window", "Пожалуйста, увеличьте окно") }
}
