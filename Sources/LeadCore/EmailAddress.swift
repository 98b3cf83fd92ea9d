/// Email address syntax check and normalisation, pragmatic rather than full RFC 5322.
///
/// Accepted: `local@domain` with a dot-atom local part (ASCII atext, plus non-ASCII letters and digits as
/// SMTPUTF8 allows) and a domain name of at least two labels whose labels are letters, digits and hyphens,
/// including non-ASCII letters (internationalised domains such as `почта.рф`). Refused: quoted local parts,
/// comments, IP-literal domains, display names (`Anna <anna@example.com>`) and anything with spaces or
/// control characters — none of which a visitor types on a kiosk.
public enum EmailAddress {
    /// The longest address accepted, in UTF-8 bytes (RFC 5321 path limit less the angle brackets).
    public static let maxLength = 254
    /// The longest local part accepted, in UTF-8 bytes (RFC 5321).
    public static let maxLocalPartLength = 64

    /// The address trimmed and lower-cased, or `nil` when it is not a plausible address.
    ///
    /// ```swift
    /// EmailAddress.normalize("  Anna.Petrova@Example.COM ")  // "anna.petrova@example.com"
    /// EmailAddress.normalize("anna@localhost")               // nil: the domain needs two labels
    /// ```
    public static func normalize(_ raw: String) -> String? {
        let scalars = raw.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return nil }
        guard let last = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return nil }
        let trimmed = Substring(scalars[first...last])
        // Checked before lower-casing too, so that a pasted novel is refused without being copied.
        guard trimmed.utf8.count <= maxLength else { return nil }
        let address = trimmed.lowercased()
        guard address.utf8.count <= maxLength else { return nil }

        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        guard isValidLocalPart(parts[0]), isValidDomain(parts[1]) else { return nil }
        return address
    }

    private static func isValidLocalPart(_ local: Substring) -> Bool {
        guard !local.isEmpty, local.utf8.count <= maxLocalPartLength else { return false }
        guard local.first != ".", local.last != ".", !local.contains("..") else { return false }
        return local.unicodeScalars.allSatisfy { $0 == "." || isAtext($0) }
    }

    /// RFC 5322 atext, extended with non-ASCII letters, marks and digits (RFC 6531).
    private static func isAtext(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.isASCII {
            return isASCIIAlphanumeric(scalar) || "!#$%&'*+-/=?^_`{|}~".unicodeScalars.contains(scalar)
        }
        return isNonASCIIWordScalar(scalar)
    }

    private static func isValidDomain(_ domain: Substring) -> Bool {
        let labels = domain.split(separator: ".", omittingEmptySubsequences: false)
        guard labels.count >= 2, labels.allSatisfy(isValidLabel) else { return false }
        return isValidTopLevelDomain(labels[labels.count - 1])
    }

    private static func isValidLabel(_ label: Substring) -> Bool {
        guard !label.isEmpty, label.unicodeScalars.count <= 63 else { return false }
        guard label.first != "-", label.last != "-" else { return false }
        return label.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII ? isASCIIAlphanumeric(scalar) || scalar == "-" : isNonASCIIWordScalar(scalar)
        }
    }

    /// Letters only (`com`, `рф`), or an A-label (`xn--p1ai`).
    private static func isValidTopLevelDomain(_ tld: Substring) -> Bool {
        if tld.hasPrefix("xn--") { return tld.count > 4 }
        guard tld.unicodeScalars.count >= 2 else { return false }
        return tld.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII ? ("a"..."z").contains(scalar) : scalar.properties.isAlphabetic
        }
    }

    private static func isASCIIAlphanumeric(_ scalar: Unicode.Scalar) -> Bool {
        ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
    }

    /// A non-ASCII letter, combining mark or digit: what internationalised names are made of.
    private static func isNonASCIIWordScalar(_ scalar: Unicode.Scalar) -> Bool {
        let properties = scalar.properties
        switch properties.generalCategory {
        case .nonspacingMark, .spacingMark, .decimalNumber: return true
        default: return properties.isAlphabetic
        }
    }
}
