package datasets

import (
	"math/rand/v2"
	"strings"

	"github.com/lora-playground/lora-playground/core/data"
)

// The restaurant names, none longer than 13 characters so that the name (said
// twice, in the prompt and the sentence) leaves room for the other
// attributes. The last e2eValNames are used only for validation, so the model
// is scored on restaurants it has never seen: it must copy the name from the
// prompt rather than recall it.
var e2eNames = []string{
	"The Eagle", "Blue Spice", "Golden Curry", "Aromi", "Alimentum",
	"Zizzi", "Cotto", "The Wrestlers", "Fitzbillies", "Giraffe",
	"The Phoenix", "Loch Fyne", "Green Man", "Strada", "The Punter",
	"Bibimbap", "The Mill", "Browns", "Cricketers", "Midsummer",
	"Clowns", "The Plough", "The Vaults", "Wildwood", "Dumpling Tree",
	"Olive Grove", "Curry Prince", "The Rice Boat", "Cocum", "Twenty Two",
	"The Waterman", "Copper Kettle", "Red Lantern", "The Blue Door", "Saffron",
	"Hungry Heron", "Wild Thyme", "Salt Cellar", "Little Fig", "Brass Monkey",
	// validation only
	"Silver Spoon", "Mango Tree", "The Quiet Owl", "Basil Leaf", "Luigi",
	"Harbour Inn", "Gilded Goose", "Juniper", "Ember", "Pepper Mill",
}

const e2eValNames = 10

// The attribute values. They follow the E2E NLG data, shortened where a
// long value would crowd out the others ("coffee shop" is "cafe", "city
// centre" is "centre").
var (
	e2eEatTypes = []string{"restaurant", "pub", "cafe"}
	e2eFoods    = []string{"French", "Italian", "Chinese", "Indian", "Japanese", "English", "Fast food", "Thai", "Greek", "Mexican"}
	e2ePrices   = []string{"cheap", "moderate", "high"}
	e2eRatings  = []string{"low", "average", "high"}
	e2eAreas    = []string{"riverside", "centre"}
	e2eFamily   = []string{"yes", "no"}
	e2eNear     = []string{
		"Cafe Rouge", "Burger King", "All Bar One", "Raja Cuisine", "The Bakers", "Sorrento",
		"Cafe Brazil", "Avalon", "Clare Hall", "Crowne Plaza", "Ranch", "Six Bells",
	}

	// Ways of saying each value, so the mapping is not a fixed lookup.
	e2ePricePhrases = map[string][]string{
		"cheap":    {"cheap", "low-priced"},
		"moderate": {"moderately priced", "mid-priced"},
		"high":     {"expensive", "pricey"},
	}
	e2eRatingPhrases = map[string][]string{
		"low":     {"rated poorly", "with poor reviews"},
		"average": {"with average reviews", "rated average"},
		"high":    {"rated highly", "with good reviews"},
	}
	e2eAreaPhrases = map[string][]string{
		"riverside": {"by the river", "on the riverside"},
		"centre":    {"in the city centre", "in the centre"},
	}
	e2eFamilyPhrases   = []string{"family-friendly", "kid-friendly"}
	e2eNoFamilyPhrases = []string{", but not family-friendly", ", not kid-friendly", ", not for kids"}
)

// e2eMR is a meaning representation; "" marks an absent attribute.
type e2eMR struct {
	name, eatType, food, price, rating, area, family, near string
}

// prompt writes the attributes in a fixed order, name first, in the E2E
// style key[value] with short keys and a space between attributes (the
// brackets already delimit them), ending in a newline.
func (m e2eMR) prompt() string {
	parts := []string{"name[" + m.name + "]"}
	for _, kv := range [][2]string{
		{"type", m.eatType}, {"food", m.food}, {"price", m.price}, {"rating", m.rating},
		{"area", m.area}, {"family", m.family}, {"near", m.near},
	} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"["+kv[1]+"]")
		}
	}
	return strings.Join(parts, " ") + "\n"
}

// e2eExtraAttributes is how many attributes besides the name a meaning
// representation has, drawn uniformly from this list: 3 to 6 attributes in
// all. Large meaning representations fit the context only with short values
// and a terse sentence, so they are kept only when they do (see buildE2E),
// and end up rarer than this list says.
var e2eExtraAttributes = []int{2, 2, 2, 3, 3, 3, 4, 4, 5, 5}

// randomMR draws the name plus extra of the 7 other attributes.
func randomMR(rng *rand.Rand, names []string, extra int) e2eMR {
	m := e2eMR{name: pick(rng, names)}
	fields := []*string{&m.eatType, &m.food, &m.price, &m.rating, &m.area, &m.family, &m.near}
	lists := [][]string{e2eEatTypes, e2eFoods, e2ePrices, e2eRatings, e2eAreas, e2eFamily, e2eNear}
	order := rng.Perm(len(fields))
	for _, i := range order[:extra] {
		*fields[i] = pick(rng, lists[i])
	}
	return m
}

// article returns "a" or "an" for the word that follows.
func article(next string) string {
	if strings.ContainsRune("aeiouAEIOU", rune(next[0])) {
		return "an"
	}
	return "a"
}

// realise writes one sentence that states every attribute of m, using a
// random template and random wording.
func realise(rng *rand.Rand, m e2eMR) string {
	noun := m.eatType
	if noun == "" {
		noun = "place"
	}
	food := m.food
	if food == "Fast food" {
		food = "fast food"
	}

	// Adjectives before the noun: price, then family-friendly, then cuisine.
	var pre []string
	if m.price != "" {
		pre = append(pre, pick(rng, e2ePricePhrases[m.price]))
	}
	if m.family == "yes" {
		pre = append(pre, pick(rng, e2eFamilyPhrases))
	}
	foodAfter := food != "" && rng.IntN(3) == 0 // "... serving French food" instead of "French ..."
	head := noun
	if food != "" && !foodAfter {
		head = food + " " + noun
	}
	np := head
	if len(pre) > 0 {
		np = strings.Join(pre, ", ") + " " + head
	}
	np = article(np) + " " + np
	if foodAfter {
		np += " serving " + food + " food"
	}

	// Phrases after the noun.
	var loc string
	switch {
	case m.area != "" && m.near != "":
		loc = pick(rng, e2eAreaPhrases[m.area]) + " near " + m.near
	case m.area != "":
		loc = pick(rng, e2eAreaPhrases[m.area])
	case m.near != "":
		loc = "near " + m.near
	}
	var rating string
	if m.rating != "" {
		rating = pick(rng, e2eRatingPhrases[m.rating])
	}
	var notFamily string
	if m.family == "no" {
		notFamily = pick(rng, e2eNoFamilyPhrases)
	}
	post := func(parts ...string) string {
		var b strings.Builder
		for _, p := range parts {
			if p != "" {
				b.WriteString(" " + p)
			}
		}
		return b.String() + notFamily
	}

	templates := []func() string{
		func() string { return m.name + " is " + np + post(loc, rating) + "." },
		func() string { return m.name + " is " + np + post(rating, loc) + "." },
		func() string { return "There is " + np + " called " + m.name + post(loc, rating) + "." },
	}
	if notFamily == "" {
		templates = append(templates,
			func() string { return "For " + np + post(loc, rating) + ", try " + m.name + "." })
	}
	if loc != "" {
		templates = append(templates,
			func() string { return capitalise(loc) + ", " + m.name + " is " + np + post(rating) + "." })
		if notFamily == "" && rating == "" {
			// "X, a pub, is by the river rated highly" reads badly.
			templates = append(templates,
				func() string { return m.name + ", " + np + ", is " + loc + "." })
		}
	}
	return pick(rng, templates)()
}

func capitalise(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

const (
	// 1,800 training examples keep the files under 300 KB.
	e2eTrain = 1800
	e2eVal   = 200
	// e2eTries scales the attempts (new attributes, three wordings each) to
	// fit a meaning representation of a drawn size before the size is drawn
	// again: e2eTries*extra*extra, because the more attributes, the fewer
	// combinations fit. With 5 extra attributes only short names and values
	// fit, so such examples stay rare (a few percent).
	e2eTries = 12
)

func buildE2E() (task, error) {
	rng := newRand(1)
	trainNames, valNames := e2eNames[:len(e2eNames)-e2eValNames], e2eNames[len(e2eNames)-e2eValNames:]
	t := task{info: data.Task{
		Name:        "e2e",
		Title:       "Restaurant descriptions (E2E)",
		Description: "Turn a restaurant's attributes into one English sentence, as in the E2E NLG benchmark; validation restaurants never appear in training.",
		Kind:        data.KindPromptCompletion,
	}}
	seen := map[string]bool{}
	// example draws a new meaning representation of extra attributes besides
	// the name and a sentence for it that fit contextChars together, trying
	// three wordings of each; ok is false if no attempt fits.
	example := func(names []string, extra int) (ex data.Example, ok bool) {
		for try := 0; try < e2eTries*extra*extra; try++ {
			m := randomMR(rng, names, extra)
			prompt := m.prompt()
			if seen[prompt] {
				continue
			}
			for wording := 0; wording < 3; wording++ {
				if s := realise(rng, m); fitsContext(prompt, s) {
					seen[prompt] = true
					return data.Example{Prompt: prompt, Completion: s}, true
				}
			}
		}
		return data.Example{}, false
	}
	draw := func(names []string, n int) []data.Example {
		var out []data.Example
		for len(out) < n {
			if ex, ok := example(names, pick(rng, e2eExtraAttributes)); ok {
				out = append(out, ex)
			}
		}
		return out
	}
	t.train = draw(trainNames, e2eTrain)
	t.val = draw(valNames, e2eVal)
	return t, nil
}
