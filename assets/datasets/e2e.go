package datasets

import (
	"math/rand/v2"
	"strings"

	"github.com/lora-playground/lora-playground/core/data"
)

// The restaurant names. The last e2eValNames are used only for validation,
// so the model is scored on restaurants it has never seen: it must copy the
// name from the prompt rather than recall it.
var e2eNames = []string{
	"The Eagle", "Blue Spice", "The Golden Curry", "Aromi", "Alimentum",
	"Zizzi", "Cotto", "The Wrestlers", "Fitzbillies", "Giraffe",
	"The Phoenix", "Loch Fyne", "Green Man", "Strada", "The Punter",
	"Bibimbap House", "The Mill", "Browns Cambridge", "The Cricketers", "Midsummer House",
	"Clowns", "The Plough", "The Vaults", "Wildwood", "The Dumpling Tree",
	"The Olive Grove", "Taste of Cambridge", "The Rice Boat", "Cocum", "The Twenty Two",
	"The Waterman", "The Copper Kettle", "Red Lantern", "The Blue Door", "Saffron",
	"The Hungry Heron", "Nettle and Thyme", "The Salt Cellar", "Little Fig", "The Brass Monkey",
	// validation only
	"The Silver Spoon", "Mango Tree", "The Quiet Owl", "Basil and Vine", "The Lamplighter",
	"Harbour Lights", "The Gilded Goose", "Juniper", "The Tin Whistle", "Pepper Mill",
}

const e2eValNames = 10

var (
	e2eEatTypes = []string{"restaurant", "pub", "coffee shop"}
	e2eFoods    = []string{"French", "Italian", "Chinese", "Indian", "Japanese", "English", "Fast food", "Thai", "Greek", "Mexican"}
	e2ePrices   = []string{"cheap", "moderate", "high"}
	e2eRatings  = []string{"low", "average", "high"}
	e2eAreas    = []string{"riverside", "city centre"}
	e2eFamily   = []string{"yes", "no"}
	e2eNear     = []string{
		"Cafe Rouge", "Burger King", "All Bar One", "Raja Cuisine", "The Bakers", "The Sorrento",
		"Cafe Adriatic", "Avalon", "Clare Hall", "The Portland Arms", "Ranch", "The Six Bells",
	}

	// Ways of saying each value, so the mapping is not a fixed lookup.
	e2ePricePhrases = map[string][]string{
		"cheap":    {"cheap", "low-priced"},
		"moderate": {"moderately priced", "mid-priced"},
		"high":     {"expensive", "high-priced"},
	}
	e2eRatingPhrases = map[string][]string{
		"low":     {"with a low rating", "rated poorly"},
		"average": {"with an average rating", "with average reviews"},
		"high":    {"with a high rating", "rated highly"},
	}
	e2eAreaPhrases = map[string][]string{
		"riverside":   {"by the river", "on the riverside"},
		"city centre": {"in the city centre", "in the town centre"},
	}
)

// e2eMR is a meaning representation; "" marks an absent attribute.
type e2eMR struct {
	name, eatType, food, price, rating, area, family, near string
}

// prompt writes the attributes in the E2E order, name first.
func (m e2eMR) prompt() string {
	parts := []string{"name[" + m.name + "]"}
	for _, kv := range [][2]string{
		{"eatType", m.eatType}, {"food", m.food}, {"priceRange", m.price}, {"customerRating", m.rating},
		{"area", m.area}, {"familyFriendly", m.family}, {"near", m.near},
	} {
		if kv[1] != "" {
			parts = append(parts, kv[0]+"["+kv[1]+"]")
		}
	}
	return strings.Join(parts, " | ") + "\n"
}

// e2eExtraAttributes is how many attributes besides the name a meaning
// representation has, drawn uniformly from this list: 3 to 6 in all, mostly
// few, so that sentences stay short enough for a small model's context.
var e2eExtraAttributes = []int{2, 2, 2, 2, 3, 3, 3, 4, 5}

// randomMR draws name plus 2 to 5 of the 7 other attributes.
func randomMR(rng *rand.Rand, names []string) e2eMR {
	m := e2eMR{name: pick(rng, names)}
	fields := []*string{&m.eatType, &m.food, &m.price, &m.rating, &m.area, &m.family, &m.near}
	lists := [][]string{e2eEatTypes, e2eFoods, e2ePrices, e2eRatings, e2eAreas, e2eFamily, e2eNear}
	order := rng.Perm(len(fields))
	for _, i := range order[:pick(rng, e2eExtraAttributes)] {
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
		pre = append(pre, pick(rng, []string{"family-friendly", "kid-friendly"}))
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
		notFamily = pick(rng, []string{", but not family-friendly", ", but not kid-friendly", " that is not family-friendly"})
	}
	post := func(parts ...string) string {
		var b strings.Builder
		for _, p := range parts {
			if p != "" {
				b.WriteString(" " + p)
			}
		}
		if notFamily != "" {
			if notFamily[0] == ' ' && b.Len() > 0 {
				// "that is not" must follow the noun phrase directly.
				b.WriteString(", but not family-friendly")
			} else {
				b.WriteString(notFamily)
			}
		}
		return b.String()
	}

	templates := []func() string{
		func() string { return m.name + " is " + np + post(loc, rating) + "." },
		func() string { return m.name + " is " + np + post(rating, loc) + "." },
		func() string { return "There is " + np + " called " + m.name + post(loc, rating) + "." },
	}
	if loc != "" {
		templates = append(templates,
			func() string { return capitalise(loc) + ", " + m.name + " is " + np + post(rating) + "." },
			func() string {
				if notFamily != "" || rating != "" {
					// "X, a pub, is by the river rated highly" reads badly.
					return m.name + " is " + np + post(loc, rating) + "."
				}
				return m.name + ", " + np + ", is " + loc + "."
			},
		)
	}
	return pick(rng, templates)()
}

func capitalise(s string) string { return strings.ToUpper(s[:1]) + s[1:] }

const (
	// 1,600 rather than 2,000 training examples keeps the files near 300 KB.
	e2eTrain = 1600
	e2eVal   = 200
	// e2eShort is the completion length to aim for: sentences longer than
	// this are redrawn a few times and the shortest kept, so most fit a
	// small model's context with room for the prompt.
	e2eShort = 60
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
	draw := func(names []string, n int) []data.Example {
		var out []data.Example
		for len(out) < n {
			m := randomMR(rng, names)
			prompt := m.prompt()
			if seen[prompt] {
				continue
			}
			seen[prompt] = true
			best := realise(rng, m)
			for try := 0; try < 4 && len(best) > e2eShort; try++ {
				if s := realise(rng, m); len(s) < len(best) {
					best = s
				}
			}
			out = append(out, data.Example{Prompt: prompt, Completion: best})
		}
		return out
	}
	t.train = draw(trainNames, e2eTrain)
	t.val = draw(valNames, e2eVal)
	return t, nil
}
