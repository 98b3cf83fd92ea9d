/// Phone number normalisation to E.164 (`+79161234567`), with a built-in table of national numbering plans.
///
/// Accepted input: digits with separators (spaces, `-`, `.`, `(`, `)`, `/`, and their Unicode look-alikes such
/// as no-break spaces and en dashes); an international number written with a leading `+`, the `00` prefix or
/// the default country's own international prefix (`810` in Russia, `011` in North America); and, when a
/// default country is given, a national number with or without its trunk prefix (`8 916…` in Russia,
/// `020…` in the UK). `+44 (0)20…` drops the `(0)`.
///
/// The table knows each country's calling code, trunk prefixes and the lengths of its national significant
/// numbers, so `+7 916 123-45-6` (one digit short) is refused. A number with a calling code outside the table
/// is accepted when the calling code is assigned and the whole number has 8 to 15 digits.
public enum PhoneNumber {
    /// One country's numbering plan, as far as normalisation needs it.
    public struct Country: Sendable, Hashable {
        /// ISO 3166-1 alpha-2 code, upper-case (`RU`).
        public let isoCode: String
        /// The E.164 country calling code without `+` (`7`).
        public let callingCode: String
        /// Prefixes dialled before a national number inside the country, longest first (`8` in Russia).
        public let trunkPrefixes: [String]
        /// Valid lengths of the national significant number (after the calling code).
        public let nationalNumberLengths: ClosedRange<Int>
        /// Prefixes for dialling out of the country besides `00`, which is always accepted.
        public let internationalPrefixes: [String]
        /// Whether national significant numbers may start with `0` (Italy keeps the 0 of its area codes).
        public let allowsLeadingZero: Bool

        init(
            _ isoCode: String,
            _ callingCode: String,
            trunk: [String],
            lengths: ClosedRange<Int>,
            exit: [String] = [],
            leadingZero: Bool = false
        ) {
            self.isoCode = isoCode
            self.callingCode = callingCode
            self.trunkPrefixes = trunk.sorted { $0.count > $1.count }
            self.nationalNumberLengths = lengths
            self.internationalPrefixes = exit.sorted { $0.count > $1.count }
            self.allowsLeadingZero = leadingZero
        }

        /// Whether `digits` can be a national significant number of this country.
        func accepts(_ digits: Substring) -> Bool {
            nationalNumberLengths.contains(digits.count) && (allowsLeadingZero || digits.first != "0")
        }
    }

    /// The built-in numbering plans, by ISO code.
    public static let countries: [Country] = [
        Country("RU", "7", trunk: ["8"], lengths: 10...10, exit: ["810"]),
        Country("KZ", "7", trunk: ["8"], lengths: 10...10, exit: ["810"]),
        Country("BY", "375", trunk: ["80", "8", "0"], lengths: 9...10, exit: ["810"]),
        Country("UA", "380", trunk: ["80", "0"], lengths: 9...9),
        Country("US", "1", trunk: ["1"], lengths: 10...10, exit: ["011"]),
        Country("CA", "1", trunk: ["1"], lengths: 10...10, exit: ["011"]),
        Country("GB", "44", trunk: ["0"], lengths: 9...10),
        Country("DE", "49", trunk: ["0"], lengths: 6...13),
        Country("FR", "33", trunk: ["0"], lengths: 9...9),
        Country("IT", "39", trunk: [], lengths: 6...11, leadingZero: true),
        Country("ES", "34", trunk: [], lengths: 9...9),
        Country("NL", "31", trunk: ["0"], lengths: 9...9),
        Country("BE", "32", trunk: ["0"], lengths: 8...9),
        Country("CH", "41", trunk: ["0"], lengths: 9...9),
        Country("AT", "43", trunk: ["0"], lengths: 6...13),
        Country("PL", "48", trunk: [], lengths: 9...9),
        Country("SE", "46", trunk: ["0"], lengths: 7...10),
        Country("NO", "47", trunk: [], lengths: 8...8),
        Country("FI", "358", trunk: ["0"], lengths: 5...12),
        Country("DK", "45", trunk: [], lengths: 8...8),
        Country("IE", "353", trunk: ["0"], lengths: 7...9),
        Country("PT", "351", trunk: [], lengths: 9...9),
        Country("CZ", "420", trunk: [], lengths: 9...9),
        Country("TR", "90", trunk: ["0"], lengths: 10...10),
        Country("AE", "971", trunk: ["0"], lengths: 8...9),
        Country("IL", "972", trunk: ["0"], lengths: 8...9),
        Country("IN", "91", trunk: ["0"], lengths: 10...10),
        Country("CN", "86", trunk: ["0"], lengths: 9...11),
        Country("JP", "81", trunk: ["0"], lengths: 9...10, exit: ["010"]),
        Country("KR", "82", trunk: ["0"], lengths: 8...10),
        Country("SG", "65", trunk: [], lengths: 8...8),
        Country("AU", "61", trunk: ["0"], lengths: 9...9, exit: ["0011"]),
        Country("BR", "55", trunk: ["0"], lengths: 10...11),
        // Mexico dropped its trunk prefixes in 2019; `+52 1 …` (the old mobile form) is still seen.
        Country("MX", "52", trunk: [], lengths: 10...11),
        Country("AM", "374", trunk: ["0"], lengths: 8...8),
        Country("GE", "995", trunk: ["0"], lengths: 9...9),
        Country("UZ", "998", trunk: ["8"], lengths: 9...9),
        Country("AZ", "994", trunk: ["0"], lengths: 9...9),
        Country("KG", "996", trunk: ["0"], lengths: 9...9),
        Country("TJ", "992", trunk: ["8"], lengths: 9...9),
        Country("MD", "373", trunk: ["0"], lengths: 8...8),
        Country("LT", "370", trunk: ["8", "0"], lengths: 8...8),
        Country("LV", "371", trunk: [], lengths: 8...8),
        Country("EE", "372", trunk: [], lengths: 7...8),
        Country("RS", "381", trunk: ["0"], lengths: 8...10),
        Country("GR", "30", trunk: [], lengths: 10...10),
        Country("HU", "36", trunk: ["06"], lengths: 8...9),
        Country("RO", "40", trunk: ["0"], lengths: 9...9),
        Country("NZ", "64", trunk: ["0"], lengths: 8...10),
        Country("ZA", "27", trunk: ["0"], lengths: 9...9),
        Country("SA", "966", trunk: ["0"], lengths: 9...9),
    ]

    /// The numbering plan of a country in the table.
    ///
    /// - Parameter code: An ISO 3166-1 alpha-2 code, in any case (`RU`, `ru`).
    /// - Returns: The plan, or `nil` when the country is not in the table; config validation uses this to
    ///   refuse a `Country=` it cannot normalise numbers for.
    public static func country(_ code: String) -> Country? {
        let upper = code.uppercased()
        return countries.first { $0.isoCode == upper }
    }

    /// The number in E.164 form, or `nil` when it is not a plausible phone number.
    ///
    /// - Parameters:
    ///   - raw: The number as typed or scanned.
    ///   - defaultCountry: ISO code of the country whose national numbers are accepted without a calling
    ///     code; `nil` (or a country not in the table) accepts international numbers only.
    ///
    /// ```swift
    /// PhoneNumber.normalize("8 916 123-45-67", defaultCountry: "RU")    // "+79161234567"
    /// PhoneNumber.normalize("+7 (916) 123-45-67", defaultCountry: nil)  // "+79161234567"
    /// PhoneNumber.normalize("916 123-45-67", defaultCountry: nil)       // nil: local, no country
    /// ```
    public static func normalize(_ raw: String, defaultCountry: String?) -> String? {
        var digits = ""
        var international = false
        for scalar in raw.unicodeScalars {
            switch scalar {
            case "0"..."9":
                guard digits.utf8.count < maxInputDigits else { return nil }
                digits.unicodeScalars.append(scalar)
            case "+":
                guard !international, digits.isEmpty else { return nil }
                international = true
            case "-", ".", "(", ")", "/", "\u{2010}"..."\u{2015}", "\u{2212}":
                continue
            default:
                guard scalar.properties.isWhitespace, !isLineBreak(scalar) else { return nil }
            }
        }
        let number = Substring(digits)
        if international { return internationalNumber(number) }

        let country = defaultCountry.flatMap { Self.country($0) }
        if let country {
            for prefix in country.internationalPrefixes where number.hasPrefix(prefix) {
                return internationalNumber(number.dropFirst(prefix.count))
            }
        }
        if number.hasPrefix("00") { return internationalNumber(number.dropFirst(2)) }
        guard let country else { return nil }
        return nationalNumber(number, in: country)
    }

    /// `00` + 15 digits is the longest input worth looking at; anything longer is refused unread.
    private static let maxInputDigits = 17

    private static func isLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x0A...0x0D, 0x85, 0x2028, 0x2029: true
        default: false
        }
    }

    /// Digits after the `+` (or international prefix): calling code, then national significant number.
    private static func internationalNumber(_ digits: Substring) -> String? {
        guard let code = callingCode(prefixing: digits) else { return nil }
        var national = digits.dropFirst(code.count)
        if let plans = plansByCallingCode[code] {
            // `+44 (0)20 …`: a trunk 0 written after the calling code.
            let zeroIsTrunk = plans.contains { $0.trunkPrefixes.contains("0") && !$0.allowsLeadingZero }
            if zeroIsTrunk, national.first == "0" { national = national.dropFirst() }
            guard plans.contains(where: { $0.accepts(national) }) else { return nil }
        }
        return e164(code, national)
    }

    private static func nationalNumber(_ digits: Substring, in country: Country) -> String? {
        for trunk in country.trunkPrefixes where digits.hasPrefix(trunk) {
            let national = digits.dropFirst(trunk.count)
            if country.accepts(national) { return e164(country.callingCode, national) }
        }
        if country.accepts(digits) { return e164(country.callingCode, digits) }
        // The calling code typed without `+` (`7 916 …`), when the digits make no sense otherwise.
        if digits.hasPrefix(country.callingCode) {
            let national = digits.dropFirst(country.callingCode.count)
            if country.accepts(national) { return e164(country.callingCode, national) }
        }
        return nil
    }

    private static func e164(_ code: String, _ national: Substring) -> String? {
        guard (8...15).contains(code.count + national.count) else { return nil }
        return "+" + code + national
    }

    private static func callingCode(prefixing digits: Substring) -> String? {
        for length in 1...3 where digits.count > length {
            let candidate = String(digits.prefix(length))
            if assignedCallingCodes.contains(candidate) { return candidate }
        }
        return nil
    }

    private static let plansByCallingCode: [String: [Country]] = Dictionary(grouping: countries) { $0.callingCode }

    /// ITU-T E.164 country calling codes in service (geographic and global services). No code is a prefix of
    /// another, so the first match by length is the code.
    private static let assignedCallingCodes: Set<String> = {
        let list = """
            1 20 211 212 213 216 218 220 221 222 223 224 225 226 227 228 229 230 231 232 233 234 235 236 237 238
            239 240 241 242 243 244 245 246 247 248 249 250 251 252 253 254 255 256 257 258 260 261 262 263 264
            265 266 267 268 269 27 290 291 297 298 299 30 31 32 33 34 350 351 352 353 354 355 356 357 358 359 36
            370 371 372 373 374 375 376 377 378 379 380 381 382 383 385 386 387 389 39 40 41 420 421 423 43 44
            45 46 47 48 49 500 501 502 503 504 505 506 507 508 509 51 52 53 54 55 56 57 58 590 591 592 593 594
            595 596 597 598 599 60 61 62 63 64 65 66 670 672 673 674 675 676 677 678 679 680 681 682 683 685 686
            687 688 689 690 691 692 7 800 808 81 82 84 850 852 853 855 856 86 870 878 880 881 882 883 886 888 90
            91 92 93 94 95 960 961 962 963 964 965 966 967 968 970 971 972 973 974 975 976 977 979 98 991 992 993
            994 995 996 998
            """
        return Set(list.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
    }()
}
