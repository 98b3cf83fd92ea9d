import LeadCore
import Testing

struct DedupKeysTests {
    @Test func takesKeysFromNormalizedFields() {
        let keys = DedupKeys(
            fields: ["first_name": "Anna", "email": "anna@example.com", "phone": "+79161234567"],
            badgeID: "ab-12345",
            form: .default
        )
        #expect(keys == DedupKeys(email: "anna@example.com", phone: "+79161234567", badgeID: "AB-12345"))
        #expect(!keys.isEmpty)
    }

    @Test func normalizesDefensively() {
        let keys = DedupKeys(
            fields: ["email": "  Anna@Example.COM ", "phone": "+7 (916) 123-45-67"],
            badgeID: " \u{1B}ab-12345\n",
            form: .default
        )
        #expect(keys == DedupKeys(email: "anna@example.com", phone: "+79161234567", badgeID: "AB-12345"))
    }

    @Test func sameVisitorTypedDifferentlyGivesSameKeys() {
        let form = FormSpec.default
        let first = DedupKeys(
            fields: ["email": "ANNA@example.com", "phone": "+7 916 123 45 67"],
            badgeID: nil,
            form: form
        )
        let second = DedupKeys(
            fields: ["email": "anna@EXAMPLE.com", "phone": "+7(916)1234567"],
            badgeID: nil,
            form: form
        )
        #expect(first == second)
    }

    @Test func keepsDigitsOfUnparseablePhone() {
        let keys = DedupKeys(fields: ["phone": "8 (916) 123-45-67"], badgeID: nil, form: .default)
        #expect(keys.phone == "89161234567")
        let international = DedupKeys(fields: ["phone": "+999 123"], badgeID: nil, form: .default)
        #expect(international.phone == "+999123")
        #expect(DedupKeys(fields: ["phone": "n/a"], badgeID: nil, form: .default).phone == nil)
    }

    @Test func missingOrEmptyValuesGiveNoKey() {
        let keys = DedupKeys(fields: ["email": "  ", "phone": ""], badgeID: "   ", form: .default)
        #expect(keys == DedupKeys(email: nil, phone: nil, badgeID: nil))
        #expect(keys.isEmpty)
        #expect(DedupKeys(fields: [:], badgeID: nil, form: .default).isEmpty)
    }

    @Test func usesFirstEmailAndPhoneTypedFields() {
        let form = FormSpec(
            title: "Custom",
            fields: [
                FieldSpec(name: "name", label: "Name"),
                FieldSpec(name: "work_email", label: "Work email", type: .email),
                FieldSpec(name: "home_email", label: "Home email", type: .email),
                FieldSpec(name: "mobile", label: "Mobile", type: .phone),
            ],
            consentText: "",
            consentRequired: false
        )
        let keys = DedupKeys(
            fields: [
                "work_email": "Work@Example.com", "home_email": "home@example.com", "mobile": "+14155552671",
                "email": "ignored@example.com", "phone": "+79161234567",
            ],
            badgeID: nil,
            form: form
        )
        #expect(keys == DedupKeys(email: "work@example.com", phone: "+14155552671", badgeID: nil))
    }

    @Test func fallsBackToFieldsNamedEmailAndPhone() {
        let form = FormSpec(
            title: "Plain",
            fields: [FieldSpec(name: "email", label: "Email"), FieldSpec(name: "phone", label: "Phone")],
            consentText: "",
            consentRequired: false
        )
        let keys = DedupKeys(fields: ["email": "A@B.io", "phone": "+442079460958"], badgeID: nil, form: form)
        #expect(keys == DedupKeys(email: "a@b.io", phone: "+442079460958", badgeID: nil))
    }

    @Test func keepsLowerCasedEmailThatDoesNotParse() {
        let keys = DedupKeys(fields: ["email": " Not An Email "], badgeID: nil, form: .default)
        #expect(keys.email == "not an email")
    }
}
