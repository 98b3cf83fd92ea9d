import Foundation
import Testing

@testable import LeadSync

/// Who holds a batch lease, and whether that holder still runs.
@Suite struct ProcessIdentityTests {
    @Test func aHolderOfThisProcessOrWithTheSameStartTimeIsAlive() throws {
        #expect(ProcessIdentity.isAlive(ProcessIdentity.makeHolder()))
        let parent = getppid()
        let start = try #require(ProcessIdentity.startTime(parent))
        #expect(ProcessIdentity.isAlive("\(parent) \(start) 1"))
        // The same pid with another start time: the pid was reused, the holder is gone.
        #expect(!ProcessIdentity.isAlive("\(parent) \(start + 1) 1"))
    }

    @Test func aProcessThatExistsButCannotBeReadKeepsItsLeaseAndAGoneOneDoesNot() throws {
        // As under ProtectProc=invisible: /proc/PID of another user's process cannot be read.
        let unreadable: (Int32) -> UInt64? = { _ in nil }
        #expect(ProcessIdentity.isAlive("\(getppid()) 12345 1", startTime: unreadable))
        // A process that has exited and been reaped.
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        #expect(!ProcessIdentity.isAlive("\(child.processIdentifier) 12345 1", startTime: unreadable))
    }
}
