import Foundation
import KilnModels
import Testing

@Test func chatTemplateDifferentialTemp() throws {
    guard let path = ProcessInfo.processInfo.environment["KILN_JINJA_DIFF"] else { return }
    let lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n")
    var mismatches = 0, okMatch = 0, errMatch = 0
    var report = ""
    for line in lines {
        guard case .dict(let row) = try TemplateJSON.parse(String(line)), case .string(let source)? = row["source"] else { continue }
        let result = Result { () throws(ChatTemplateError) -> String in try ChatTemplate(source: source).render(context: ChatTemplateTests.context) }
        switch (result, row["rendered"]) {
        case (.success(let out), .string(let expected)?):
            if out == expected { okMatch += 1 } else { mismatches += 1; report += "OUT\n\(source)\n  swift: \(out.debugDescription)\n  jinja: \(expected.debugDescription)\n" }
        case (.failure, .string(let expected)?):
            mismatches += 1; report += "SWIFTERR\n\(source)\n  swift: \(result)\n  jinja: \(expected.debugDescription)\n"
        case (.success(let out), _):
            mismatches += 1; report += "JINJAERR\n\(source)\n  swift: \(out.debugDescription)\n  jinja: \(row["error"].map { "\($0)" } ?? "")\n"
        case (.failure, _): errMatch += 1
        }
    }
    try report.write(toFile: path + ".report", atomically: true, encoding: .utf8)
    print("DIFF ok=\(okMatch) errs=\(errMatch) mismatches=\(mismatches)")
}
