package events

import (
	"context"
	"strconv"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"golang.org/x/sync/singleflight"

	"github.com/parleyhq/parley"
)

// renderTimeout bounds one rendering: it runs on behalf of every stream
// waiting for it, so no single stream's context may cancel it.
const renderTimeout = 10 * time.Second

type renderKey struct {
	account parley.ID
	seq     int64
}

// cachedRenderer renders each event once per instance however many
// streams and deliveries send it: a thousand streams on one account make
// one read of the subject per event, not a thousand.
type cachedRenderer struct {
	next   Renderer
	recent *lru.Cache[renderKey, Rendered]
	flight singleflight.Group
	// ahead are the renderings Prefetch started and not finished, each
	// with a channel closed when its batch is done. At most prefetchers
	// batches are read at once, so that prefetching never takes the
	// database connections the writes need.
	ahead       sync.Map // renderKey → chan struct{}
	prefetchers chan struct{}
}

// prefetchers bounds the batches Prefetch renders at once.
const prefetchers = 4

// Prefetcher renders events ahead of their use.
type Prefetcher interface {
	// Prefetch starts rendering, in the background, those of evs that
	// are neither rendered nor being rendered: a stream about to send a
	// commit's worth of events waits once for all of them, not for each
	// in turn (with every other stream of the account waiting with it).
	Prefetch(evs []Event)
}

// BatchRenderer renders several events of one account with fewer reads
// than one by one. Prefetch uses it when the renderer has it.
type BatchRenderer interface {
	Renderer
	// RenderAll returns one rendering per event, in order.
	RenderAll(ctx context.Context, evs []Event) ([]Rendered, error)
}

// Cached puts a cache of the size most recent renderings in front of r,
// keyed by the event's account and position. Concurrent renderings of one
// event share a single call of r. Errors are not kept: the next caller
// tries again.
func Cached(r Renderer, size int) Renderer {
	recent, err := lru.New[renderKey, Rendered](size)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &cachedRenderer{next: r, recent: recent, prefetchers: make(chan struct{}, prefetchers)}
}

func (c *cachedRenderer) Prefetch(evs []Event) {
	// Streams meet a busy account's events in the same batches: when the
	// last is rendered, the rest almost always are, and Render finds the
	// odd one out.
	if len(evs) == 0 {
		return
	}
	if last := evs[len(evs)-1]; c.recent.Contains(renderKey{last.AccountID, last.Seq}) {
		return
	}
	done := make(chan struct{})
	var todo []Event
	for _, e := range evs {
		k := renderKey{e.AccountID, e.Seq}
		if !e.Type.Public() || e.AccountID != evs[0].AccountID {
			continue
		}
		if _, ok := c.recent.Peek(k); ok {
			continue
		}
		if _, started := c.ahead.LoadOrStore(k, done); !started {
			todo = append(todo, e)
		}
	}
	if len(todo) == 0 {
		return
	}
	go func() {
		defer func() {
			for _, e := range todo {
				c.ahead.Delete(renderKey{e.AccountID, e.Seq})
			}
			close(done)
		}()
		c.prefetchers <- struct{}{}
		defer func() { <-c.prefetchers }()
		ctx, cancel := context.WithTimeout(context.Background(), renderTimeout)
		defer cancel()
		// A failure is met again, event by event, by the stream.
		if batch, ok := c.next.(BatchRenderer); ok {
			if rs, err := batch.RenderAll(ctx, todo); err == nil {
				for i, e := range todo {
					c.recent.Add(renderKey{e.AccountID, e.Seq}, rs[i])
				}
			}
			return
		}
		for _, e := range todo {
			if r, err := c.next.Render(ctx, e); err == nil {
				c.recent.Add(renderKey{e.AccountID, e.Seq}, r)
			}
		}
	}()
}

func (c *cachedRenderer) Render(ctx context.Context, e Event) (Rendered, error) {
	k := renderKey{e.AccountID, e.Seq}
	// Peek, not Get: a hit takes a shared lock, not the exclusive one
	// that moving the entry up would; every stream of a busy account asks
	// for the same entries at once. Events are asked for in order, so the
	// cache evicting the first added is as good as the least used.
	if r, ok := c.recent.Peek(k); ok {
		return r, nil
	}
	if ahead, ok := c.ahead.Load(k); ok {
		select {
		case <-ahead.(chan struct{}):
		case <-ctx.Done():
			return Rendered{}, ctx.Err()
		}
		if r, ok := c.recent.Peek(k); ok {
			return r, nil
		}
	}
	v, err, _ := c.flight.Do(strconv.FormatInt(int64(e.AccountID), 10)+":"+strconv.FormatInt(e.Seq, 10), func() (any, error) {
		if r, ok := c.recent.Peek(k); ok {
			return r, nil
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), renderTimeout)
		defer cancel()
		r, err := c.next.Render(ctx, e)
		if err != nil {
			return Rendered{}, err
		}
		c.recent.Add(k, r)
		return r, nil
	})
	return v.(Rendered), err
}
