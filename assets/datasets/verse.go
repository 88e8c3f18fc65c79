package datasets

import (
	"math/rand/v2"
	"strings"

	"github.com/lora-playground/lora-playground/core/data"
)

// rhyme is a set of words that rhyme, split by part of speech so each can
// end a line written for it.
type rhyme struct{ nouns, adjectives []string }

var rhymes = []rhyme{
	{[]string{"night", "light", "flight", "sight", "height", "kite"}, []string{"bright", "white"}},
	{[]string{"day", "way", "bay", "hay", "clay", "spray"}, []string{"gray"}},
	{[]string{"sea", "tree", "bee", "key"}, []string{"free"}},
	{[]string{"moon", "noon", "tune", "spoon", "dune", "balloon"}, nil},
	{[]string{"heart", "art", "cart", "chart"}, []string{"smart"}},
	{[]string{"rain", "lane", "plain", "chain", "grain", "train"}, []string{"vain"}},
	{[]string{"song", "throng", "gong"}, []string{"long", "strong", "wrong"}},
	{[]string{"sky", "cry", "lullaby", "butterfly"}, []string{"high", "shy", "dry"}},
	{[]string{"fire", "choir", "spire", "lyre", "wire"}, []string{"dire"}},
	{[]string{"door", "shore", "floor", "oar", "store"}, nil},
	{[]string{"hill", "mill", "sill", "windowsill"}, []string{"still", "chill"}},
	{[]string{"bell", "well", "shell", "dell", "spell"}, nil},
	{[]string{"gold", "fold", "marigold"}, []string{"old", "cold", "bold"}},
	{[]string{"tide", "bride", "side", "guide"}, []string{"wide"}},
	{[]string{"year", "deer", "pier"}, []string{"clear", "near", "dear"}},
	{[]string{"face", "place", "lace", "grace", "space"}, nil},
	{[]string{"ground", "sound", "mound", "hound"}, []string{"round"}},
}

var (
	verseAdjs    = []string{"silver", "golden", "gentle", "merry", "lonely", "little", "quiet", "weary", "tender", "dancing", "sleepy", "laughing"}
	verseNouns   = []string{"wind", "lark", "river", "maiden", "shepherd", "sparrow", "willow", "lantern", "fiddler", "piper", "sailor", "robin"}
	verseNounsPl = []string{"roses", "meadows", "lilies", "candles", "sailors", "swallows", "apples", "daisies", "children", "stars"}
	verseVerbs   = []string{"sings", "sleeps", "weeps", "dreams", "sighs", "wanders", "waits", "hums", "plays"}
	verseNames   = []string{"Molly", "Annie", "Jenny", "Nell", "Rosie", "Kitty", "Tom", "Will", "Jack", "Robin"}

	// Line templates. {w} is the rhyme word; the other slots are filled
	// from the lists above.
	nounLines = []string{
		"I wandered lonely by the {w}",
		"The {adj} {noun} {verb} beneath the {w}",
		"And all my sorrow drifted on the {w}",
		"She sang of {nouns} and of the {w}",
		"We danced together down the {w}",
		"My heart was dreaming of the {w}",
		"O sweet {name}, come and see the {w}",
		"The {noun} is calling from the {w}",
		"Upon the hill I watched the {w}",
		"Remember how we found the {w}",
		"The {adj} {nouns} are waiting by the {w}",
		"Hey ho, the {noun} and the {w}",
	}
	adjectiveLines = []string{
		"And all the world was {w}",
		"The {noun} grew {w}",
		"My love, your eyes are {w}",
		"Oh, how the morning shone so {w}",
		"And every {noun} seemed {w}",
		"The {adj} {nouns} were {w}",
		"Sweet {name}, the night is {w}",
	}
)

// fill replaces each {slot} of template by its value; slots the template
// does not use are simply not drawn on.
func fill(template string, slotsAndValues ...string) string {
	return strings.NewReplacer(slotsAndValues...).Replace(template)
}

// verseLine writes one line ending in the rhyme word w.
func verseLine(rng *rand.Rand, w string, adjective bool) string {
	templates := nounLines
	if adjective {
		templates = adjectiveLines
	}
	return capitalise(fill(pick(rng, templates), "{w}", w, "{adj}", pick(rng, verseAdjs), "{noun}", pick(rng, verseNouns),
		"{verb}", pick(rng, verseVerbs), "{nouns}", pick(rng, verseNounsPl), "{name}", pick(rng, verseNames)))
}

// rhymeWords draws n different words of one rhyme, each with whether it is
// an adjective.
func rhymeWords(rng *rand.Rand, r rhyme, n int) ([]string, []bool) {
	all := append(append([]string(nil), r.nouns...), r.adjectives...)
	perm := rng.Perm(len(all))[:n]
	words, adj := make([]string, n), make([]bool, n)
	for i, p := range perm {
		words[i], adj[i] = all[p], p >= len(r.nouns)
	}
	return words, adj
}

// stanza writes four lines rhyming AABB or ABAB.
func stanza(rng *rand.Rand) string {
	ab := rng.Perm(len(rhymes))[:2]
	a, aAdj := rhymeWords(rng, rhymes[ab[0]], 2)
	b, bAdj := rhymeWords(rng, rhymes[ab[1]], 2)
	ends := []string{a[0], a[1], b[0], b[1]}
	adjs := []bool{aAdj[0], aAdj[1], bAdj[0], bAdj[1]}
	if rng.IntN(2) == 0 { // ABAB
		ends[1], ends[2] = ends[2], ends[1]
		adjs[1], adjs[2] = adjs[2], adjs[1]
	}
	punct := []string{",", pick(rng, []string{";", ",", "!"}), ",", pick(rng, []string{".", "!"})}
	var s strings.Builder
	for i := range ends {
		s.WriteString(verseLine(rng, ends[i], adjs[i]) + punct[i] + "\n")
	}
	return s.String()
}

// poem is a title and one or two stanzas.
func poem(rng *rand.Rand) string {
	var s strings.Builder
	if rng.IntN(2) == 0 {
		s.WriteString(strings.ToUpper(pick(rng, []string{"A song of the ", "The ", "To the ", "Ballad of the "})+pick(rng, verseNouns)) + "\n\n")
	}
	s.WriteString(stanza(rng))
	if rng.IntN(3) == 0 {
		s.WriteString("\n" + stanza(rng))
	}
	return s.String()
}

var (
	speakers = []string{"ROMEO", "JULIET", "VIOLA", "ORSINO", "ROSALIND", "ORLANDO", "BEATRICE", "BENEDICK",
		"PORTIA", "LYSANDER", "HERMIA", "OBERON", "TITANIA", "PUCK", "MIRANDA", "PROSPERO", "NURSE", "FOOL"}
	scenes = []string{"A garden at night.", "A street in the town.", "The sea shore.", "A room in the castle.",
		"A forest near the village.", "Before the tavern.", "A hall with a great fire."}
	// Dialogue lines: {other} is the other speaker's name as addressed,
	// {my} and {good} are forms of address.
	dialogueLines = []string{
		"Good morrow, {other}! What news from the {place}?",
		"Alas, my {my}, the {noun} is gone.",
		"Then let us hence, for the night grows late.",
		"I swear by yonder {place} I love thee still.",
		"Speak not of {nouns}; my heart is heavy.",
		"What say you, {other}? Wilt thou go with me?",
		"Nay, I will stay and watch the {place}.",
		"Hark! Who comes there?",
		"'Tis but the {noun}, good {good}.",
		"O {other}, thy words are sweeter than the {nouns}.",
		"Come, the {noun} waits for us by the {place}.",
		"Fie, {other}! Thou art a saucy {noun}.",
		"Peace! I hear the {noun} upon the stair.",
		"Why dost thou weep, sweet {other}?",
		"Ha! A pretty jest, upon my word.",
		"Go to, go to! I'll hear no more of {nouns}.",
		"By my troth, I never saw such {nouns}.",
		"Farewell, {other}. Remember me.",
	}
	directions = []string{"[{who} laughs.]", "[{who} kneels.]", "[{who} sings.]", "[{who} draws a sword.]", "[{who} weeps.]"}
	myTitles   = []string{"lord", "lady", "liege", "love"}
	goodTitles = []string{"sir", "madam", "friend", "cousin"}
	// dialoguePlaces end dialogue lines; they are rhyme nouns, for the
	// same sing-song feel as the poems.
	dialoguePlaces = []string{"sea", "hill", "mill", "shore", "tide", "bay", "moon", "well", "dell", "fire"}
)

// dialogue is a short scene between two speakers, in play-script form.
func dialogue(rng *rand.Rand) string {
	pair := rng.Perm(len(speakers))[:2]
	who := []string{speakers[pair[0]], speakers[pair[1]]}
	addressed := []string{capitalise(strings.ToLower(who[0])), capitalise(strings.ToLower(who[1]))}
	var s strings.Builder
	if rng.IntN(2) == 0 {
		s.WriteString("SCENE: " + pick(rng, scenes) + "\n")
		s.WriteString("[Enter " + addressed[0] + " and " + addressed[1] + ".]\n\n")
	}
	lines := 4 + rng.IntN(3)
	for i := 0; i < lines; i++ {
		speaker, other := i%2, (i+1)%2
		if i > 0 && rng.IntN(6) == 0 {
			s.WriteString(fill(pick(rng, directions), "{who}", addressed[speaker]) + "\n")
		}
		line := fill(pick(rng, dialogueLines), "{other}", addressed[other], "{noun}", pick(rng, verseNouns),
			"{nouns}", pick(rng, verseNounsPl), "{place}", pick(rng, dialoguePlaces),
			"{my}", pick(rng, myTitles), "{good}", pick(rng, goodTitles))
		s.WriteString(who[speaker] + ": " + line + "\n")
	}
	if rng.IntN(3) == 0 {
		s.WriteString("[Exeunt.]\n")
	}
	return s.String()
}

const (
	verseTrain = 800
	verseVal   = 80
	// verseMaxChars bounds a piece: text tasks are cut into windows of any
	// length, but short pieces keep each window near one whole piece.
	verseMaxChars = 400
)

func buildVerse() (task, error) {
	rng := newRand(2)
	t := task{info: data.Task{
		Name:        "verse",
		Title:       "Verse and stage dialogue",
		Description: "Rhyming stanzas and play-script dialogue: a style the base model, trained on Newton's Opticks, has never seen.",
		Kind:        data.KindText,
	}}
	seen := map[string]bool{}
	draw := func(n int) []data.Example {
		var out []data.Example
		for len(out) < n {
			piece := poem(rng)
			if rng.IntN(2) == 0 {
				piece = dialogue(rng)
			}
			if seen[piece] || len(piece) > verseMaxChars { // no piece in both splits, none twice
				continue
			}
			seen[piece] = true
			out = append(out, data.Example{Completion: piece})
		}
		return out
	}
	t.train = draw(verseTrain)
	t.val = draw(verseVal)
	return t, nil
}
