import LeadCore
import Testing

struct EmailAddressTests {
    @Test(arguments: [
        ("anna@example.com", "anna@example.com"),
        ("  Anna.Petrova@Example.COM ", "anna.petrova@example.com"),
        ("\u{00A0}anna@example.com\t", "anna@example.com"),
        ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
        ("o'brien@example.ie", "o'brien@example.ie"),
        ("user_name-1@my-company.io", "user_name-1@my-company.io"),
        ("a!#$%&'*+-/=?^_`{|}~b@example.com", "a!#$%&'*+-/=?^_`{|}~b@example.com"),
        ("x@x.io", "x@x.io"),
        ("Иван@Почта.РФ", "иван@почта.рф"),
        ("anna@xn--80a1acny.xn--p1ai", "anna@xn--80a1acny.xn--p1ai"),
        ("anna@123.example.com", "anna@123.example.com"),
    ])
    func normalizesValidAddress(_ raw: String, _ expected: String) {
        #expect(EmailAddress.normalize(raw) == expected)
    }

    @Test(arguments: [
        "",
        "   ",
        "anna",
        "anna@",
        "@example.com",
        "anna@@example.com",
        "anna@example@com",
        "anna@localhost",
        "anna@example.c",
        "anna@example.123",
        "anna@example.com.",
        "anna@.example.com",
        "anna@example..com",
        "anna@-example.com",
        "anna@example-.com",
        "anna@exa_mple.com",
        ".anna@example.com",
        "anna.@example.com",
        "an..na@example.com",
        "an na@example.com",
        "anna@exam ple.com",
        "\"anna\"@example.com",
        "anna(comment)@example.com",
        "Anna <anna@example.com>",
        "anna@[192.168.0.1]",
        "anna\u{0000}@example.com",
        "anna\u{1B}[2J@example.com",
        "anna@example.com\u{202E}",
        "anna@exa\u{200B}mple.com",
        "anna\n@example.com",
        "=HYPERLINK(\"http://evil\",\"x\")",
    ])
    func refusesInvalidAddress(_ raw: String) {
        #expect(EmailAddress.normalize(raw) == nil)
    }

    @Test func limitsLocalPartTo64Bytes() {
        let local64 = String(repeating: "a", count: 64)
        #expect(EmailAddress.normalize(local64 + "@example.com") == local64 + "@example.com")
        #expect(EmailAddress.normalize(local64 + "a@example.com") == nil)
        // 32 Cyrillic letters are 64 bytes; 33 are too many.
        #expect(EmailAddress.normalize(String(repeating: "я", count: 32) + "@example.com") != nil)
        #expect(EmailAddress.normalize(String(repeating: "я", count: 33) + "@example.com") == nil)
    }

    @Test func limitsWholeAddressTo254Bytes() {
        let label = String(repeating: "d", count: 63)
        let domain = [label, label, label, String(repeating: "d", count: 57), "com"].joined(separator: ".")
        let atLimit = "a@" + domain  // 2 + 63 * 3 + 57 + 3 + 4 dots = 255
        #expect(atLimit.utf8.count == 255)
        #expect(EmailAddress.normalize(atLimit) == nil)
        let withinLimit = "a@" + domain.dropFirst()
        #expect(withinLimit.utf8.count == 254)
        #expect(EmailAddress.normalize(withinLimit) == withinLimit)
    }

    @Test func limitsLabelsTo63Characters() {
        #expect(EmailAddress.normalize("a@" + String(repeating: "d", count: 63) + ".com") != nil)
        #expect(EmailAddress.normalize("a@" + String(repeating: "d", count: 64) + ".com") == nil)
    }
}
