extension LeadValidator {
    /// Cleans the fields of a scanned card (or of an attendee record a badge scan resolves to) for a lead.
    ///
    /// A scan cannot be asked to correct itself, so the rules differ from a typed form in two ways:
    ///
    /// - Every value is checked on its own, with the form's rules. A value that fails (an email that is not
    ///   one, a national phone number with no `[Kiosk] Country=`, a choice the form does not offer, text
    ///   over `MaxLength`, U+FFFD) is left out and reported; the rest of the card is kept.
    /// - Required fields are not enforced: a business card without an email is still a lead. Whether what is
    ///   left identifies a person is ``hasScanIdentity(_:badgeID:)``'s question.
    ///
    /// Fields the form does not have are left out and reported as ``FieldError/Kind/unknownField``.
    ///
    /// ```swift
    /// let validator = LeadValidator(form: .default, country: nil)
    /// validator.validateScanned(["first_name": "Anna", "email": "not-an-email", "t_shirt": "XL"])
    /// // fields ["first_name": "Anna"], dropped: email (invalidEmail), t_shirt (unknownField)
    /// ```
    ///
    /// - Parameter raw: Field name → value as decoded.
    /// - Returns: The values to store (cleaned and normalised, empty ones omitted) and the values left out, in
    ///   form order, then unknown names in alphabetical order.
    public func validateScanned(_ raw: [String: String]) -> (fields: [String: String], dropped: [FieldError]) {
        var fields: [String: String] = [:]
        var dropped: [FieldError] = []
        for spec in form.fields {
            guard let value = raw[spec.name] else { continue }
            switch validateField(spec.name, value) {
            case .success(let cleaned?): fields[spec.name] = cleaned
            case .success(nil): break
            case .failure(let error):
                // A required field that cleaned down to nothing is simply absent from a scan.
                if error.kind != .required { dropped.append(error) }
            }
        }
        for name in raw.keys.sorted() where form.field(named: name) == nil {
            dropped.append(FieldError(field: name, kind: .unknownField))
        }
        return (fields, dropped)
    }

    /// Whether cleaned scan fields name someone the exhibitor can follow up: a badge id, or a value in an
    /// `email` or `phone` field, or in `first_name`, `last_name` or `name`. A company or a job title alone is
    /// not a lead.
    ///
    /// - Parameters:
    ///   - fields: Values as ``validateScanned(_:)`` returned them.
    ///   - badgeID: The scanned badge id, if any.
    public func hasScanIdentity(_ fields: [String: String], badgeID: String?) -> Bool {
        if let badgeID, !badgeID.isEmpty { return true }
        for (name, value) in fields where !value.isEmpty {
            if ["first_name", "last_name", "name"].contains(name) { return true }
            if let type = form.field(named: name)?.type, type == .email || type == .phone { return true }
        }
        return false
    }
}
