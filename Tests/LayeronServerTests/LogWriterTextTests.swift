@testable import LayeronServer
import XCTest

/// Text log lines cannot be split or forged by what a client or a plugin put in a message.
final class LogWriterTextTests: XCTestCase {
    func testPlainTextIsUnchanged() {
        XCTAssertEqual(LogWriter.oneLine("plugin loaded\tbilling é"), "plugin loaded\tbilling é")
    }

    func testANewlineContinuesIndentedAndOtherControlsAreEscaped() {
        XCTAssertEqual(LogWriter.oneLine("bad path /x\n2026-12-05T00:00:00.000Z ERROR forged"),
                       "bad path /x\n    2026-12-05T00:00:00.000Z ERROR forged")
        XCTAssertEqual(LogWriter.oneLine("a\rb\u{1B}[2Jc\u{7F}d\u{85}"), "a\\u{d}b\\u{1b}[2Jc\\u{7f}d\\u{85}")
    }
}

/// Fields in a text line cannot be faked by a value or a message that a client or plugin chose.
final class LogWriterTextFieldTests: XCTestCase {
    func testValuesWithSpacesEqualsOrQuotesAreQuoted() {
        XCTAssertEqual(LogWriter.textValue("stripe"), "stripe")
        XCTAssertEqual(LogWriter.textValue("ok.z event=whevt_FORGED"), #""ok.z event=whevt_FORGED""#)
        XCTAssertEqual(LogWriter.textValue(#"a "b" \c"#), #""a \"b\" \\c""#)
        XCTAssertEqual(LogWriter.textValue(""), #""""#)
    }

    func testAMessageIsQuotedOnlyWhenItCouldHoldAField() {
        XCTAssertEqual(LogWriter.textMessage("handler failed: card declined"), "handler failed: card declined")
        XCTAssertEqual(LogWriter.textMessage("handler failed: x event=whevt_FORGED"), #""handler failed: x event=whevt_FORGED""#)
    }
}
