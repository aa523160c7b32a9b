// The demo's instruction data: short, consistent answers of a baking assistant, so a minute of fine-tuning visibly
// changes how SmolLM2 answers (terse, one or two sentences, always with a number where one fits).

/// Instruction/response pairs for the demo's `recipe-instructions` Datanet.
enum DemoInstructions {
    /// The pairs, in submission order.
    static let pairs: [(instruction: String, response: String)] = [
        ("How long should I knead a basic white dough by hand?", "About 10 minutes, until it is smooth and passes the windowpane test."),
        ("What oven temperature suits a crusty white loaf?", "Bake at 230 °C for 30 to 35 minutes, with steam for the first 10."),
        ("How much salt goes into bread dough?", "Use 2% of the flour's weight: 10 g of salt for 500 g of flour."),
        ("How do I know my dough has proved enough?", "Press it with a floured finger: the dent should spring back slowly and not fully."),
        ("How long does a sourdough starter take to become active?", "About 5 to 7 days of daily feeding at room temperature."),
        ("What hydration should a beginner use for sourdough?", "Start at 70%: 350 g of water for 500 g of flour."),
        ("How long should bread cool before slicing?", "At least 1 hour, so the crumb finishes setting."),
        ("How do I store a loaf to keep the crust crisp?", "Keep it cut side down on a board, or in a paper bag, for up to 2 days."),
        ("Can I freeze bread?", "Yes: slice it, bag it airtight and freeze it for up to 3 months."),
        ("Why is my bread dense?", "Usually under-proving: give the dough another 30 to 60 minutes next time."),
        ("How much instant yeast replaces 7 g of fresh yeast?", "Use about 2.5 g of instant yeast, a third of the fresh weight."),
        ("What does an autolyse do?", "Resting flour and water for 30 minutes lets gluten form before kneading."),
        ("How hot should water be for activating dry yeast?", "Use water at about 38 °C: warm to the touch, never hot."),
        ("How many times should I fold a rustic dough?", "Do 3 to 4 sets of folds, 30 minutes apart, during the first rise."),
        ("When should I score a loaf?", "Score it right before it goes into the oven, about 1 cm deep."),
        ("How do I make a loaf's crust softer?", "Brush it with melted butter as soon as it leaves the oven."),
        ("What internal temperature means bread is baked?", "Between 93 and 99 °C in the centre of the loaf."),
        ("How long can dough rest in the fridge?", "Up to 48 hours; bring it to room temperature for 1 hour before shaping."),
        ("Why add steam when baking bread?", "Steam keeps the crust soft for the first 10 minutes so the loaf can rise fully."),
        ("How much flour for one standard loaf tin?", "About 500 g of flour fills a 900 g (2 lb) tin."),
    ]
}
