import LeadCore
import Testing

struct PhoneNumberTests {
    struct Example: Sendable, CustomTestStringConvertible {
        var raw: String
        var country: String?
        var expected: String?
        var testDescription: String { "\(raw) [\(country ?? "-")] → \(expected ?? "nil")" }

        init(_ raw: String, _ country: String?, _ expected: String?) {
            self.raw = raw
            self.country = country
            self.expected = expected
        }
    }

    @Test(arguments: [
        Example("8 916 123-45-67", "RU", "+79161234567"),
        Example("+7 (916) 123-45-67", nil, "+79161234567"),
        Example("+7 (916) 123-45-67", "US", "+79161234567"),
        Example("9161234567", "RU", "+79161234567"),
        Example("8(916)1234567", "RU", "+79161234567"),
        Example("7 916 123 45 67", "RU", "+79161234567"),
        Example("8 800 555-35-35", "RU", "+78005553535"),
        Example("800 555-35-35", "RU", "+78005553535"),
        Example("8 727 123 45 67", "KZ", "+77271234567"),
        Example("(415) 555-2671", "US", "+14155552671"),
        Example("1-415-555-2671", "US", "+14155552671"),
        Example("415.555.2671", "CA", "+14155552671"),
        Example("011 44 20 7946 0958", "US", "+442079460958"),
        Example("020 7946 0958", "GB", "+442079460958"),
        Example("+44 (0)20 7946 0958", nil, "+442079460958"),
        Example("07700 900123", "GB", "+447700900123"),
        Example("030 1234567", "DE", "+49301234567"),
        Example("0151/12345678", "DE", "+4915112345678"),
        Example("0049 30 1234567", nil, "+49301234567"),
        Example("0049 30 1234567", "RU", "+49301234567"),
        Example("810 49 30 1234567", "RU", "+49301234567"),
        Example("01 23 45 67 89", "FR", "+33123456789"),
        Example("06 1234 5678", "IT", "+390612345678"),
        Example("+39 06 1234 5678", nil, "+390612345678"),
        Example("612 34 56 78", "ES", "+34612345678"),
        Example("8 029 123-45-67", "BY", "+375291234567"),
        Example("029 123-45-67", "BY", "+375291234567"),
        Example("050 123 45 67", "UA", "+380501234567"),
        Example("0412 345 678", "AU", "+61412345678"),
        Example("0011 7 916 123 45 67", "AU", "+79161234567"),
        Example("090-1234-5678", "JP", "+819012345678"),
        Example("010-1234-5678", "KR", "+821012345678"),
        Example("9123 4567", "SG", "+6591234567"),
        Example("(11) 91234-5678", "BR", "+5511912345678"),
        Example("55 1234 5678", "MX", "+525512345678"),
        Example("098 12 34 56", "AM", "+37498123456"),
        Example("88 123 45 67", "UZ", "+998881234567"),
        Example("8 90 123 45 67", "UZ", "+998901234567"),
        Example("+1\u{00A0}415\u{2013}555\u{2013}2671", nil, "+14155552671"),
        Example("ru local 9161234567", "RU", nil),
    ])
    func normalizesToE164(_ example: Example) {
        #expect(PhoneNumber.normalize(example.raw, defaultCountry: example.country) == example.expected)
    }

    @Test(arguments: ["8 916 123-45-67", "9161234567", "(415) 555-2671", "020 7946 0958"])
    func refusesLocalNumberWithoutCountry(_ raw: String) {
        #expect(PhoneNumber.normalize(raw, defaultCountry: nil) == nil)
    }

    @Test func refusesLocalNumberForCountryNotInTable() {
        #expect(PhoneNumber.normalize("8 916 123-45-67", defaultCountry: "XX") == nil)
        #expect(PhoneNumber.normalize("+7 916 123-45-67", defaultCountry: "XX") == "+79161234567")
    }

    @Test(arguments: [
        "",
        "   ",
        "+",
        "call me",
        "+7 916 CALL-ME",
        "8 916 123-45-67 ext. 5",
        "+7 916 123-45-6",  // one digit short for Russia
        "+7 916 123-45-678",  // one digit too many
        "+1 415 555 267",
        "+44 20 7946 09",
        "+1234567",  // fewer than 8 digits
        "+123456789012345678",  // more than 15 digits
        "+999 123456789",  // calling code not assigned
        "+89161234567",  // no calling code 8 or 89 or 891
        "+0 916 123 45 67",
        "++7 916 123 45 67",
        "8 +7 916 123 45 67",
        "+7 916 123\n45 67",
        "+7 916 123\u{1B}45 67",
        "+7\u{0000}9161234567",
        "=HYPERLINK(\"http://evil\",\"x\")",
        "+7 ٩١٦ ١٢٣ ٤٥ ٦٧",  // Arabic-Indic digits are not accepted
    ])
    func refusesGarbage(_ raw: String) {
        #expect(PhoneNumber.normalize(raw, defaultCountry: "RU") == nil)
        #expect(PhoneNumber.normalize(raw, defaultCountry: nil) == nil)
    }

    @Test func refusesHugeInputWithoutReadingIt() {
        #expect(PhoneNumber.normalize("+" + String(repeating: "7", count: 100_000), defaultCountry: nil) == nil)
    }

    @Test func refusesNationalNumberOfWrongLength() {
        #expect(PhoneNumber.normalize("8 916 123-45", defaultCountry: "RU") == nil)
        #expect(PhoneNumber.normalize("8 916 123-45-67-8", defaultCountry: "RU") == nil)
        #expect(PhoneNumber.normalize("415 555 267", defaultCountry: "US") == nil)
        #expect(PhoneNumber.normalize("020 7946 09", defaultCountry: "GB") == nil)
    }

    @Test func acceptsAssignedCallingCodeOutsideTable() {
        // Bulgaria (+359) has no plan in the table: any 8–15 digit number is accepted.
        #expect(PhoneNumber.normalize("+359 2 123 4567", defaultCountry: nil) == "+35921234567")
        #expect(PhoneNumber.normalize("+359 2", defaultCountry: nil) == nil)
    }

    @Test func resultIsStableUnderRenormalization() {
        let once = PhoneNumber.normalize("8 (916) 123-45-67", defaultCountry: "RU")
        #expect(once != nil)
        #expect(PhoneNumber.normalize(once ?? "", defaultCountry: nil) == once)
        #expect(PhoneNumber.normalize(once ?? "", defaultCountry: "GB") == once)
    }

    @Test func tableCoversRequiredCountries() throws {
        let required = """
            RU KZ BY UA US CA GB DE FR IT ES NL BE CH AT PL SE NO FI DK IE PT CZ TR AE IL IN CN JP KR SG AU BR MX \
            AM GE UZ AZ KG
            """
        for code in required.split(separator: " ") {
            let country = try #require(PhoneNumber.country(String(code)), "\(code)")
            #expect(country.isoCode == String(code))
            #expect(!country.callingCode.isEmpty)
        }
        #expect(Set(PhoneNumber.countries.map(\.isoCode)).count == PhoneNumber.countries.count)
    }

    @Test func countryLookupIgnoresCaseAndRefusesUnknownCodes() {
        #expect(PhoneNumber.country("ru")?.callingCode == "7")
        #expect(PhoneNumber.country("Gb")?.trunkPrefixes == ["0"])
        #expect(PhoneNumber.country("XX") == nil)
        #expect(PhoneNumber.country("") == nil)
        #expect(PhoneNumber.country("RUS") == nil)
    }
}
