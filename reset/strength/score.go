package strength

import "resetgate/reset/strength/guesses"

// maxScoredRunes is how much of a password the estimator sees. Its matchers look up every
// substring in every dictionary and try every table of l33t substitutions, so its cost grows
// faster than the length: BenchmarkCheck gives the numbers. A checker that spends a long time
// per request, twice when the password holds the user's own words, is a DoS lever (SECURITY.md
// RQ-PWD-10); 64 runes bounds it. Scoring a prefix errs on the strict side: a weak start is
// still weak, and an attacker must produce the whole prefix too, so a strong start makes the
// whole strong. The one blind spot is zxcvbn's: it rates a fragment of a dictionary word cut at
// the 64th rune as random characters, so a long password whose only weakness straddles the cut
// can pass, which needs more than 64 runes of mostly patterned text. The checks that need the
// whole password (the common list, equality with the user's address or name) do not go through
// the estimator and see all of it.
const maxScoredRunes = 64

// estimateStrength scores password, which must be valid UTF-8, with zxcvbn's model, given
// userInputs as an extra dictionary. Package guesses implements it on rune boundaries, so
// passwords in any script are scored correctly (SECURITY.md RQ-PWD-04: Unicode passwords must
// be accepted), and keeps its word lists in the binary's read-only data rather than on the heap.
func estimateStrength(password string, userInputs []string) guesses.Estimate {
	return guesses.Of(password, userInputs)
}
