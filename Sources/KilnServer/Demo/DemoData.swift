// The demo node's contents: users, one Datanet of each kind, items in every state, a version.
import Foundation
import KilnData

/// Seeds a data folder for `kiln demo`.
public enum DemoData {
    /// The demo logins, as printed by `kiln demo`.
    public static let logins: [(username: String, password: String, role: String)] = [
        ("admin", "kiln-demo-admin", "admin"),
        ("curator", "kiln-demo-curator", "curator of every demo Datanet"),
        ("alice", "kiln-demo-alice", "contributor"),
        ("bob", "kiln-demo-bob", "contributor"),
    ]

    /// Fills an empty node; does nothing if it already has users.
    /// - Returns: whether anything was written.
    @discardableResult
    public static func seed(_ services: KilnServices) async throws -> Bool {
        if try await services.accounts.user(named: "curator") != nil { return false }
        var users: [String: User] = [:]
        for login in logins {
            users[login.username] = try await services.accounts.register(username: login.username, password: login.password,
                                                                          isAdmin: login.role == "admin")
        }
        let curator = users["curator"]!, alice = users["alice"]!, bob = users["bob"]!

        let notes = try await services.datanets.create(CreateDatanetRequest(
            slug: "baking-notes", title: "Baking notes", description: "Short, factual notes about bread, ovens and flour.",
            kind: .text, schema: .plain, license: "CC-BY-4.0",
            rules: DatanetRules(formats: ["txt", "jsonl"], maxItemBytes: 4000, dailyLimit: 50, minChars: 30, maxChars: 2000)), by: curator)
        let texts = [
            (alice, "A poolish is a wet preferment of equal weights of flour and water with a pinch of yeast."),
            (alice, "Steam in the first minutes of baking keeps the crust soft so the loaf can spring before it sets."),
            (bob, "Autolyse means resting flour and water before adding salt and yeast so gluten starts forming on its own."),
            (bob, "A baking stone stores heat and gives the bottom of a loaf a quick, even blast when it goes in."),
            (alice, "Rye flour has little gluten; its structure comes from pentosans, so rye doughs feel sticky and paste-like."),
            (bob, "Cold retarding dough overnight slows the yeast while enzymes keep developing flavour in the crumb."),
        ]
        var ids: [Int] = []
        for (user, text) in texts {
            let stored = try await services.submissions.submit([.text(.plain(text: text), format: "txt", repairedUTF8: false)], to: notes, by: user)
            ids.append(stored[0].id)
        }
        for id in ids.prefix(4) {
            _ = try await services.submissions.review(id, decision: .accept, reason: nil, by: curator)
        }
        _ = try await services.submissions.review(ids[4], decision: .reject, reason: "Please cite where the pentosan claim comes from.",
                                                  by: curator)
        _ = try await services.submissions.submit([.text(.plain(text: "too short"), format: "txt", repairedUTF8: false)], to: notes, by: bob)
        _ = try await services.versions.publish(notes, by: curator)

        let recipes = try await services.datanets.create(CreateDatanetRequest(
            slug: "recipe-instructions", title: "Recipe instructions", description: "Instruction/response pairs for a baking assistant.",
            kind: .text, schema: .instruction, license: "CC-BY-SA-4.0",
            rules: DatanetRules(formats: ["txt", "jsonl"], maxItemBytes: 100_000, dailyLimit: 100, minChars: 1, maxChars: 20_000,
                                validationPercent: 20)), by: curator)
        for (index, pair) in DemoInstructions.pairs.enumerated() {
            let item = TextItem.instruction(instruction: pair.instruction, input: nil, response: pair.response)
            let stored = try await services.submissions.submit([.text(item, format: "jsonl", repairedUTF8: false)], to: recipes,
                                                               by: index % 2 == 0 ? alice : bob)
            _ = try await services.submissions.review(stored[0].id, decision: .accept, reason: nil, by: curator)
        }
        _ = try await services.versions.publish(recipes, by: curator)

        let photos = try await services.datanets.create(CreateDatanetRequest(
            slug: "crumb-photos", title: "Crumb photos", description: "Cross-sections of loaves, to learn what good crumb looks like.",
            kind: .image, license: "CC0-1.0",
            rules: DatanetRules(formats: ["png", "jpeg", "webp"], maxItemBytes: 2_000_000, dailyLimit: 20, minPixels: 256, maxPixels: 4_000_000)),
            by: curator)
        let palette: [(UInt8, UInt8, UInt8)] = [(222, 184, 135), (205, 133, 63), (245, 222, 179)]
        for (index, color) in palette.enumerated() {
            let image = DemoMedia.png(width: 48, height: 32) { x, y in
                (x / 6 + y / 6) % 3 == index ? (90, 60, 30) : color
            }
            let item = try await services.submissions.submit([.media(image, fileName: "crumb-\(index + 1).png")], to: photos, by: index == 1 ? bob : alice)
            if index == 0 {
                _ = try await services.submissions.review(item[0].id, decision: .accept, reason: nil, by: curator)
            }
        }
        _ = try await services.submissions.submit([.media(Data("PK\u{03}\u{04} not really a picture".utf8), fileName: "loaf.png")], to: photos, by: bob)

        let sounds = try await services.datanets.create(CreateDatanetRequest(
            slug: "oven-sounds", title: "Oven sounds", description: "Short recordings of ovens, timers and crackling crusts.",
            kind: .audio, license: "CC0-1.0",
            rules: DatanetRules(formats: ["wav", "flac", "mp3", "ogg"], maxItemBytes: 2_000_000, dailyLimit: 20, minSeconds: 0.5, maxSeconds: 30)),
            by: curator)
        let tone = try await services.submissions.submit([.media(DemoMedia.wav(seconds: 1.5, frequency: 440), fileName: "timer.wav")], to: sounds, by: alice)
        _ = try await services.submissions.review(tone[0].id, decision: .accept, reason: nil, by: curator)
        _ = try await services.submissions.submit([.media(DemoMedia.wav(seconds: 2, frequency: 220), fileName: "crackle.wav")], to: sounds, by: bob)
        _ = try await services.submissions.submit([.media(DemoMedia.wav(seconds: 0.2, frequency: 880), fileName: "beep.wav")], to: sounds, by: bob)
        return true
    }
}
