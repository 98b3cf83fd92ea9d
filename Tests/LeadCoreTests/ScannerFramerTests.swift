import Testing

@testable import LeadCore

private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

private func record(_ text: String) -> ScannerFrame { .record(bytes(text)) }

/// A small deterministic generator (SplitMix64) so that failures reproduce.
private struct SplitMix64 {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func bytes(_ count: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(count + 8)
        while out.count < count {
            var word = next()
            for _ in 0..<8 {
                out.append(UInt8(truncatingIfNeeded: word))
                word >>= 8
            }
        }
        return Array(out.prefix(count))
    }
}

@Test func linesEndInCROrLFOrCRLFAndBlankLinesAreIgnored() {
    var framer = ScannerFramer()
    let frames = framer.push(bytes("A-1\rA-2\nA-3\r\n\r\n\n  \t \nA-4\r\n"))
    #expect(frames == [record("A-1"), record("A-2"), record("A-3"), record("A-4")])
    #expect(framer.finish().isEmpty)
}

@Test func chunkingDoesNotChangeTheFrames() {
    let stream = bytes(
        "A-1\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna\r\n  Petrova\r\nEND:VCARD\r\nMECARD:N:A,B;;\rlast\n"
    )
    var whole = ScannerFramer()
    let expected = whole.push(stream)
    #expect(expected.count == 4)
    var bytewise = ScannerFramer()
    var frames: [ScannerFrame] = []
    for c in stream { frames += bytewise.push([c]) }
    #expect(frames == expected)
}

@Test func vcardIsOneRecordWithCRLFBetweenItsLines() throws {
    var framer = ScannerFramer()
    let frames = framer.push(
        bytes("A-1\nbegin:vcard\nVERSION:3.0\n\nFN:Anna Petrova\nNOTE:long\n  folded\nEND:VCARD \nA-2\n")
    )
    #expect(
        frames == [
            record("A-1"),
            record("begin:vcard\r\nVERSION:3.0\r\nFN:Anna Petrova\r\nNOTE:long\r\n  folded\r\nEND:VCARD "),
            record("A-2"),
        ]
    )
    guard case .record(let vcard) = frames[1] else { return }
    #expect(try CardDecoder.decode(vcard).get().fields["last_name"] == "Petrova")
}

@Test func lineLongerThanTheLimitIsDroppedWithAReason() {
    var framer = ScannerFramer()
    let longest = [UInt8](repeating: 0x41, count: 8192)
    #expect(framer.push(longest + [0x0A]) == [.record(longest)])
    let frames = framer.push(longest + [0x41, 0x0D, 0x0A] + bytes("A-1\r\n"))
    #expect(frames == [.dropped(reason: "line longer than 8192 bytes", bytes: 8193), record("A-1")])
}

@Test func oneMegabyteLineKeepsMemoryBounded() {
    var framer = ScannerFramer()
    let chunk = [UInt8](repeating: 0x42, count: 4096)
    for _ in 0..<256 {
        #expect(framer.push(chunk).isEmpty)
        #expect(framer.heldCapacity <= 4 * 8192)
    }
    let frames = framer.push(bytes("\nA-1\n"))
    #expect(frames == [.dropped(reason: "line longer than 8192 bytes", bytes: 1 << 20), record("A-1")])
}

@Test func vcardCutOffAtEndOfInputIsDroppedAndTheFramerIsReusable() {
    var framer = ScannerFramer()
    #expect(framer.push(bytes("BEGIN:VCARD\r\nFN:Anna")).isEmpty)
    #expect(framer.finish() == [.dropped(reason: "vcard cut off", bytes: 20)])
    #expect(framer.push(bytes("BEGIN:VCARD\r\nFN:Anna\r\n")).isEmpty)
    #expect(framer.finish() == [.dropped(reason: "vcard cut off", bytes: 20)])
    #expect(framer.push(bytes("A-1\n")) == [record("A-1")])
}

@Test func vcardInterruptedByAnotherBeginIsCutOff() {
    var framer = ScannerFramer()
    let frames = framer.push(bytes("BEGIN:VCARD\nFN:Anna\nBEGIN:VCARD\nFN:Ivan\nEND:VCARD\n"))
    #expect(
        frames == [
            .dropped(reason: "vcard cut off", bytes: 20), record("BEGIN:VCARD\r\nFN:Ivan\r\nEND:VCARD"),
        ]
    )
}

@Test func partialRecordAtEndOfInputIsDropped() {
    var framer = ScannerFramer()
    #expect(framer.push(bytes("A-1\nA-2")) == [record("A-1")])
    #expect(framer.finish() == [.dropped(reason: "record cut off", bytes: 3)])
    #expect(framer.push(bytes("BEGIN:VCARD\nFN:A\nEND:VCARD")).isEmpty)
    #expect(framer.finish() == [record("BEGIN:VCARD\r\nFN:A\r\nEND:VCARD")], "END:VCARD completes it")
    #expect(framer.push(bytes("   ")).isEmpty)
    #expect(framer.finish().isEmpty, "blanks are not a record")
}

@Test func vcardAtTheLimitIsKeptAndOneByteMoreIsDropped() {
    func vcard(noteLength: Int) -> [UInt8] {
        bytes("BEGIN:VCARD\r\nNOTE:" + String(repeating: "x", count: noteLength) + "\r\nEND:VCARD")
    }
    var framer = ScannerFramer(maxRecordBytes: 100)
    let exact = vcard(noteLength: 71)
    #expect(exact.count == 100)
    #expect(framer.push(exact + [0x0A]) == [.record(exact)])
    #expect(
        framer.push(vcard(noteLength: 72) + [0x0A]) == [.dropped(reason: "vcard longer than 100 bytes", bytes: 101)]
    )
    #expect(framer.push(bytes("A-1\n")) == [record("A-1")])
}

@Test func vcardWithTenThousandPropertiesIsDroppedWithBoundedMemory() {
    var framer = ScannerFramer()
    var frames = framer.push(bytes("BEGIN:VCARD\r\n"))
    for _ in 0..<10_000 {
        frames += framer.push(bytes("X-P:1\r\n"))
        #expect(framer.heldCapacity <= 4 * 8192)
    }
    frames += framer.push(bytes("END:VCARD\r\nA-1\r\n"))
    #expect(
        frames == [.dropped(reason: "vcard longer than 8192 bytes", bytes: 11 + 10_000 * 7 + 2 + 9), record("A-1")]
    )
}

@Test func overlongVCardFollowedByANewOneKeepsTheNewOne() {
    var framer = ScannerFramer(maxRecordBytes: 64)
    let frames = framer.push(
        bytes("BEGIN:VCARD\n" + String(repeating: "NOTE:xxxxxxxxxx\n", count: 10) + "BEGIN:VCARD\nFN:A\nEND:VCARD\n")
    )
    #expect(frames.count == 2)
    #expect(
        frames.first.map { if case .dropped(let reason, _) = $0 { reason } else { "" } } == "vcard longer than 64 bytes"
    )
    #expect(frames.last == record("BEGIN:VCARD\r\nFN:A\r\nEND:VCARD"))
}

/// Several MB of random bytes: the framer keeps its bound, every record fits, and nothing decodes to a card
/// with fields. (A short run of letters and digits between two line ends is a well-formed badge id, so a few
/// of those are expected: the attendee lookup, not the decoder, decides whether they are anyone.)
@Test func randomBytesAreFramedWithBoundedMemoryAndNeverBecomeCards() {
    var random = SplitMix64(state: 0x5EED)
    var framer = ScannerFramer()
    var frames: [ScannerFrame] = []
    var remaining = 4 << 20
    while remaining > 0 {
        let size = min(remaining, Int(random.next() % 4096) + 1)
        frames += framer.push(random.bytes(size))
        #expect(framer.heldCapacity <= 4 * 8192)
        remaining -= size
    }
    frames += framer.finish()
    var reasons: [String: Int] = [:]
    var badges = 0
    for frame in frames {
        switch frame {
        case .record(let payload):
            #expect(payload.count <= 8192)
            switch CardDecoder.decode(payload) {
            case .success(let card):
                #expect(card.fields.isEmpty && card.notes == nil && card.badgeID != nil)
                badges += 1
            case .failure(let error):
                reasons[error.reason.description, default: 0] += 1
            }
        case .dropped(let reason, let size):
            #expect(!reason.isEmpty && size > 0)
            reasons[reason, default: 0] += 1
        }
    }
    #expect(frames.count > 10_000)
    #expect(reasons["invalid UTF-8", default: 0] > 10_000)
    #expect(badges < frames.count / 100)
}

@Test func randomBytesWithoutLineEndsAreOneDrop() {
    var random = SplitMix64(state: 42)
    var framer = ScannerFramer()
    var total = 0
    for _ in 0..<768 {
        let chunk = random.bytes(4096).map { $0 == 0x0D || $0 == 0x0A ? 0x00 : $0 }
        #expect(framer.push(chunk).isEmpty)
        #expect(framer.heldCapacity <= 4 * 8192)
        total += chunk.count
    }
    #expect(framer.finish() == [.dropped(reason: "line longer than 8192 bytes", bytes: total)])
}

@Test func garbageBetweenGoodRecordsLeavesThemIntact() throws {
    var random = SplitMix64(state: 7)
    var framer = ScannerFramer()
    var frames = framer.push(bytes("MECARD:N:Petrova,Anna;EMAIL:anna@example.ru;;\r\n"))
    frames += framer.push([0x00, 0xFF, 0xFE] + random.bytes(20_000) + [0x0D, 0x0A])
    frames += framer.push(bytes("BEGIN:VCARD\r\nFN:Ivan Ivanov\r\nEND:VCARD\r\n"))
    var cards: [DecodedCard] = []
    for case .record(let payload) in frames {
        if case .success(let card) = CardDecoder.decode(payload), !card.fields.isEmpty { cards.append(card) }
    }
    #expect(cards.map { $0.fields["last_name"] } == ["Petrova", "Ivanov"])
}

/// Feeds `reads` (payload, time) to `filter` and answers which were repeats.
private func repeats(_ filter: inout DuplicateScanFilter, _ reads: [([UInt8], Int64)]) -> [Bool] {
    reads.map { filter.isRepeat($0.0, at: $0.1) }
}

@Test func doubleReadWithinTwoSecondsIsARepeat() {
    let payload = bytes("A-10042")
    var filter = DuplicateScanFilter()
    #expect(repeats(&filter, [(payload, 10_000), (payload, 11_999)]) == [false, true])

    var later = DuplicateScanFilter()
    #expect(repeats(&later, [(payload, 10_000), (payload, 12_001)]) == [false, false])

    var exactly = DuplicateScanFilter()
    #expect(repeats(&exactly, [(payload, 0), (payload, 2000)]) == [false, false])
}

@Test func duplicateFilterWindowSlidesAndRemembersInterleavedPayloads() {
    let a = bytes("A-1")
    let b = bytes("B-2")
    var filter = DuplicateScanFilter()
    let reads: [([UInt8], Int64, Bool, Comment)] = [
        (a, 0, false, "first scan"),
        (a, 1500, true, "badge held in front of the scanner"),
        (a, 3000, true, "the window slides"),
        (b, 3100, false, "another badge"),
        (a, 3200, true, "A, B, A"),
        (a, 5200, false, "two seconds of quiet"),
        (a, 1000, false, "clock went back: a new scan"),
        (a, .min, false, "no overflow"),
        (a, .max, false, "no overflow"),
        (a, .max, true, "same time"),
    ]
    for (payload, time, expected, comment) in reads {
        let seen = filter.isRepeat(payload, at: time)
        #expect(seen == expected, comment)
    }

    var custom = DuplicateScanFilter(window: 500)
    #expect(repeats(&custom, [(a, 0), (a, 499), (a, 1000)]) == [false, true, false])
}

@Test func anUnterminatedLineIsARecordWhenSilenceEndsItButAnOpenVCardIsNot() {
    var framer = ScannerFramer(maxRecordBytes: 64)
    #expect(framer.push(bytes("A-1\nA-2")) == [record("A-1")])
    #expect(!framer.isInsideVCard)
    #expect(framer.finish(acceptingUnterminatedLine: true) == [record("A-2")])
    #expect(framer.push(bytes("BEGIN:VCARD\nFN:A")).isEmpty)
    #expect(framer.isInsideVCard)
    #expect(framer.finish(acceptingUnterminatedLine: true) == [.dropped(reason: "vcard cut off", bytes: 17)])
    #expect(framer.push(bytes("BEGIN:VCARD")).isEmpty)
    #expect(
        framer.finish(acceptingUnterminatedLine: true) == [.dropped(reason: "record cut off", bytes: 11)],
        "a lone BEGIN:VCARD is the start of a card, not a record"
    )
    #expect(framer.push(bytes(String(repeating: "x", count: 65))).isEmpty)
    #expect(
        framer.finish(acceptingUnterminatedLine: true) == [.dropped(reason: "line longer than 64 bytes", bytes: 65)]
    )
}
