// Shared by the card fuzz targets; Fuzz/run.sh compiles Fuzz/Support/*.swift into every target.

/// What every decoder promises: a card has a usable field or a badge id, field names are form-field names,
/// values are not blank; an error has a reason.
func checkCard(_ result: Result<DecodedCard, CardDecodeError>) {
    switch result {
    case .success(let card):
        if let badge = card.badgeID {
            precondition(badge.utf8.count <= 64 && !badge.isEmpty, "bad badge id")
        }
        let identifying = ["first_name", "last_name", "email", "phone", "company"]
        precondition(card.badgeID != nil || identifying.contains { card.fields[$0] != nil }, "unusable card")
        for (name, value) in card.fields {
            precondition(KeyValueCardParser.fieldName(forKey: name) != nil, "bad field name")
            precondition(!TextSanitizer.clean(value, multiline: false).isEmpty, "blank value")
        }
    case .failure(let error):
        precondition(!error.description.isEmpty, "error without a reason")
    }
}
