package conversations

import (
	"context"
	"time"

	"github.com/parleyhq/parley"
)

// RevocationFlag is a text that reads like a request to stop texting
// (optout.RecogniseRevocation) but is no keyword. It waits on its
// conversation until staff record the opt-out it asks for or dismiss it:
// the FCC gives a business ten business days to honour a revocation made
// "by any reasonable means", and Parley tells staff after one.
type RevocationFlag struct {
	At        time.Time
	MessageID parley.ID // the text that raised it
	// Rule is the recogniser's rule that matched; Reason says it in words.
	Rule, Reason string
}

// RevocationReminderAfter is how long a flag waits unanswered before its
// conversation's assignee (or, unassigned, the account's admins) is told.
const RevocationReminderAfter = 24 * time.Hour

// RevocationAnswer is what staff made of a flag.
type RevocationAnswer string

// Answers to a flag.
const (
	// RevocationOptedOut: staff recorded the opt-out, the flagged text as
	// its evidence in the consent log.
	RevocationOptedOut RevocationAnswer = "opted_out"
	// RevocationDismissed: staff read it and it was no request to stop.
	RevocationDismissed RevocationAnswer = "dismissed"
)

// Valid reports whether a is an answer.
func (a RevocationAnswer) Valid() bool { return a == RevocationOptedOut || a == RevocationDismissed }

// RevocationStore answers flags and reminds staff of unanswered ones.
type RevocationStore interface {
	// AnswerRevocation clears the conversation's flag as by's answer, in
	// one transaction with its activity entry and, for
	// RevocationOptedOut, the opt-out (source staff, the flagged text as
	// evidence). ECONFLICT (code no_revocation_flag) when it has none.
	// by must be allowed to act on the conversation (CanAct).
	AnswerRevocation(ctx context.Context, accountID, conversationID parley.ID, by User, a RevocationAnswer, at time.Time) (Conversation, error)
	// RemindUnansweredRevocations notifies, once per flag, the assignee
	// (or every admin) of each flag raised before cutoff and still
	// unanswered; it returns how many flags it reminded of.
	RemindUnansweredRevocations(ctx context.Context, cutoff, at time.Time) (int, error)
}

// CodeNoRevocationFlag: a conversation without a flag was answered.
const CodeNoRevocationFlag = "no_revocation_flag"
