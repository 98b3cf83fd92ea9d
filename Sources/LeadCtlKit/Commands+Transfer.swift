import ArgumentParser
import LeadCore
import LeadStore

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

enum ExportFormat: String, ExpressibleByArgument, CaseIterable {
    case csv, jsonl, vcard
}

/// `--since`: RFC 3339, a local date `YYYY-MM-DD`, `today`, or a number of hours back (`24h`).
func parseSince(_ text: String, now: Timestamp = .now()) -> Timestamp? {
    if text == "today" { return LocalTime.startOfDay(now) }
    if text.hasSuffix("h"), let hours = Int64(text.dropLast()), hours >= 0 { return now.adding(seconds: -hours * 3600) }
    if text.utf8.count == 10, let utcMidnight = Timestamp(rfc3339: text) {
        return utcMidnight.adding(seconds: -LocalTime.utcOffsetSeconds(at: utcMidnight))
    }
    return Timestamp(rfc3339: text)
}

struct Export: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "Export leads as CSV (for Excel with --excel), JSON Lines or vCard, to stdout or a file."
    )
    @ParentCommand var root: LeadCtl
    @Option(help: "csv, jsonl or vcard.") var format: ExportFormat = .csv
    @Flag(help: "CSV for Excel: UTF-8 byte-order mark and CRLF line ends.") var excel = false
    @Option(help: "Only leads captured since TIME: RFC 3339, YYYY-MM-DD (local), today, or 24h.") var since: String?
    @Option(help: "Write to FILE (atomically: a pulled USB stick never leaves half a file under this name).")
    var out: String?

    func validate() throws {
        if let since, parseSince(since) == nil { throw ValidationError("cannot read --since \"\(since)\"") }
        if excel && format != .csv { throw ValidationError("--excel goes with --format csv") }
    }

    func run() throws {
        let ctx = try open(readOnly: true)
        let output = try out.map { try OutputFile(path: $0) } ?? OutputFile()
        let names = ctx.fieldNames
        var progress = Progress("Exported")
        var count = 0
        if format == .csv {
            var w = CSVWriter(excel: excel)
            w.writeRow(LeadCSV.header(fieldNames: names))
            try output.write(w.bytes)
        }
        try ctx.store.forEachLead(since: since.flatMap { parseSince($0) }, withDeliveries: format == .jsonl) {
            lead,
            deliveries in
            try output.append { buf in
                switch format {
                case .csv: LeadCSV.appendRow(lead, fieldNames: names, excel: excel, to: &buf)
                case .jsonl:
                    LeadJSON.appendExportRecord(lead, deliveries: deliveries, fieldOrder: names, to: &buf)
                    buf.append(0x0A)
                case .vcard: VCardWriter.append(lead, to: &buf)
                }
            }
            count += 1
            progress.update(count)
        }
        try output.close()
        progress.finish(count)
        if let out { printError("\(count) leads written to \(out)") }
    }
}

struct Import: LeadCtlSubcommand {
    static let configuration = CommandConfiguration(
        abstract: "Import a JSON Lines or CSV file written by export; idempotent by lead id."
    )
    @ParentCommand var root: LeadCtl
    @Argument(help: "The file (.jsonl or .csv).") var file: String

    func run() throws {
        let ctx = try open(create: true)
        let isJSON = try InputFile.firstByte(of: file) == UInt8(ascii: "{")
        var progress = Progress("Imported")
        let records: AnySequence<PreparedLead>
        let form = ctx.form
        let input = try InputFile(path: file)
        var failure: CLIError?
        let event = ctx.config.kiosk.event
        let kiosk = ctx.config.kiosk.id
        func fill(_ lead: inout Lead) {
            if lead.event.isEmpty { lead.event = event }
            if lead.kiosk.isEmpty { lead.kiosk = kiosk }
        }
        if isJSON {
            // Decode on a second thread, a batch of lines at a time, while this one writes the database;
            // memory stays bounded by the pipeline's depth whatever the file's size.
            var lines = LineSequence(input: input)
            let pipeline = Pipeline<PreparedLead> {
                var batch: [PreparedLead] = []
                batch.reserveCapacity(1024)
                while batch.count < 1024, let (line, number) = try lines.next() {
                    if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { continue }
                    do {
                        var (lead, deliveries) = try LeadJSON.decode(line)
                        fill(&lead)
                        // Encoding the fields column and the dedup keys happens here too, off the writing thread.
                        batch.append(PreparedLead(lead, deliveries: deliveries, form: form))
                    } catch {
                        // Hand over what decoded before the bad line; the error follows it.
                        if batch.isEmpty { throw CLIError.failure("\(file):\(number): \(error)") }
                        lines.pushBack(line, number)
                        return batch
                    }
                }
                return batch.isEmpty ? nil : batch
            }
            records = AnySequence {
                AnyIterator {
                    guard failure == nil else { return nil }
                    do { return try pipeline.next() } catch let e as CLIError { failure = e } catch {
                        failure = .failure("\(error)")
                    }
                    return nil
                }
            }
        } else {
            var reader = CSVReader(chunks: { try input.read() })
            let header = try reader.nextRecord() ?? []
            guard header.contains("lead_id") else {
                throw CLIError.failure("\(file): not a leadd export (no lead_id column in the header)")
            }
            records = AnySequence {
                AnyIterator {
                    guard failure == nil else { return nil }
                    do {
                        guard let row = try reader.nextRecord() else { return nil }
                        var lead = try LeadCSV.decodeRow(header: header, row: row)
                        fill(&lead)
                        return PreparedLead(lead, deliveries: [], form: form)
                    } catch {
                        failure = CLIError.failure("\(file): record \(reader.recordNumber): \(error)")
                        return nil
                    }
                }
            }
        }
        let result = try ctx.store.importLeads(records, form: ctx.form) { progress.update($0) }
        progress.finish(result.added + result.updated + result.unchanged)
        print(
            "\(result.added) added, \(result.updated) updated to a newer revision, \(result.unchanged) already present"
        )
        if let failure {
            throw CLIError.failure(
                failure.message + " (the records before it were imported; fix the file and import again)"
            )
        }
    }
}

/// Lines of an input file, pulled one at a time.
struct LineSequence {
    let input: InputFile
    private var buffer: [UInt8] = []
    private var offset = 0
    private var number = 0
    private var eof = false
    private var pushedBack: ([UInt8], Int)?

    init(input: InputFile) { self.input = input }

    /// Makes `next()` return this line again.
    mutating func pushBack(_ line: [UInt8], _ number: Int) { pushedBack = (line, number) }

    mutating func next() throws -> ([UInt8], Int)? {
        if let line = pushedBack {
            pushedBack = nil
            return line
        }
        while true {
            if let nl = newline(from: offset) {
                var line = Array(buffer[offset..<nl])
                if line.last == 0x0D { line.removeLast() }
                offset = nl + 1
                number += 1
                return (line, number)
            }
            if eof {
                guard offset < buffer.count else { return nil }
                var line = Array(buffer[offset...])
                if line.last == 0x0D { line.removeLast() }
                offset = buffer.count
                number += 1
                return (line, number)
            }
            buffer.removeSubrange(0..<offset)
            offset = 0
            if let chunk = try input.read() { buffer.append(contentsOf: chunk) } else { eof = true }
        }
    }

    /// The index of the next LF at or after `start` (memchr: this runs over every byte of a bulk import).
    private func newline(from start: Int) -> Int? {
        buffer.withUnsafeBufferPointer { bytes in
            guard start < bytes.count, let base = bytes.baseAddress,
                let found = memchr(base + start, 0x0A, bytes.count - start)
            else { return nil }
            return base.distance(to: found.assumingMemoryBound(to: UInt8.self))
        }
    }
}
