package conversations

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
)

// SnoozeWaker reopens conversations whose snooze has ended. The scheduler
// runs Wake every second; the store makes each wake-up happen once even
// when several instances run it against one database.
type SnoozeWaker struct {
	Store interface {
		WakeSnoozed(ctx context.Context, now time.Time) ([]Conversation, error)
	}
	Clock parley.Clock
	Log   zerolog.Logger
}

// Wake reopens what is due now.
func (w *SnoozeWaker) Wake(ctx context.Context) {
	woken, err := w.Store.WakeSnoozed(ctx, w.Clock.Now())
	if err != nil {
		if ctx.Err() == nil {
			w.Log.Error().Err(err).Msg("waking snoozed conversations failed")
		}
		return
	}
	if len(woken) > 0 {
		w.Log.Info().Int("conversations", len(woken)).Msg("snoozes ended")
	}
}
