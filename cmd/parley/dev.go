package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// runDev is `parley dev …`: tools for measuring Parley, not for production.
func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "seed":
			return runDevSeed(ctx, args[1:], getenv, stdout, stderr)
		case "listbench":
			return runDevListBench(ctx, args[1:], getenv, stdout, stderr)
		}
	}
	fmt.Fprintln(stderr, "usage: parley dev seed|listbench [flags]")
	return errUsage
}

func openDev(ctx context.Context, cfg Config) (*store.DB, error) {
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if _, err := db.Migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// runDevSeed fills an account with synthetic conversations and messages.
func runDevSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var spec store.SeedSpec
	var account int64
	cfg, err := parseConfig("dev seed", args, getenv, stdout, stderr, func(_ *Config, fs *flag.FlagSet) {
		fs.IntVar(&spec.Conversations, "conversations", 100_000, "conversations (one contact and phone each)")
		fs.IntVar(&spec.Messages, "messages", 1_000_000, "messages in total")
		fs.IntVar(&spec.Agents, "agents", 50, "agents to assign conversations to")
		fs.IntVar(&spec.Contacts, "contacts", 0, "contacts in all, when more than conversations (the rest have no conversation: campaign audiences)")
		fs.StringVar(&spec.ContactType, "contact-type", "", "every seeded contact's type (for a campaign filter)")
		fs.Int64Var(&account, "account-id", 0, "the account to fill (default: a new account)")
		fs.Uint64Var(&spec.Seed, "seed", 1, "random seed (same seed, same data)")
	})
	if err != nil {
		return err
	}
	db, err := openDev(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	spec.AccountID, spec.Now = parley.ID(account), parley.SystemClock{}.Now()
	if account == 0 {
		secret := conversations.NewTokenSecret()
		acc, _, err := db.CreateAccount(ctx, "Seeded", conversations.NewUser{Email: "admin@seed.example", Name: "Seed Admin",
			Role: conversations.RoleAdmin}, secret, spec.Now)
		if err != nil {
			return err
		}
		spec.AccountID = acc.ID
		fmt.Fprintf(stdout, "created account %s; its admin token: %s\n", acc.ID, secret.Secret)
	}
	last := time.Now()
	spec.Progress = func(table string, done, total int) {
		if time.Since(last) > 5*time.Second || done == total {
			fmt.Fprintf(stdout, "%s: %d/%d\n", table, done, total)
			last = time.Now()
		}
	}
	start := time.Now()
	res, err := db.Seed(ctx, spec)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d contacts, %d conversations and %d messages in %s: inbox %s, channel %s",
		max(spec.Contacts, spec.Conversations), spec.Conversations, spec.Messages, time.Since(start).Round(time.Second), res.InboxID, res.ChannelID)
	if len(res.AgentIDs) > 0 {
		fmt.Fprintf(stdout, ", agents %s…%s", res.AgentIDs[0], res.AgentIDs[len(res.AgentIDs)-1])
	}
	fmt.Fprintln(stdout)
	return nil
}

// runDevListBench measures conversation list pages the way the inbox asks
// for them and prints each query's plan.
func runDevListBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var runs int
	var account, agent int64
	var explain bool
	cfg, err := parseConfig("dev listbench", args, getenv, stdout, stderr, func(_ *Config, fs *flag.FlagSet) {
		fs.IntVar(&runs, "runs", 200, "measured runs per query")
		fs.Int64Var(&account, "account-id", 0, "the account to list (default: the one with the most conversations)")
		fs.Int64Var(&agent, "agent-id", 0, "the user for view=mine (default: the busiest assignee)")
		fs.BoolVar(&explain, "explain", true, "print each query's plan")
	})
	if err != nil {
		return err
	}
	db, err := openDev(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if account == 0 {
		if err := db.SQL().GetContext(ctx, &account, `SELECT account_id FROM conversations GROUP BY account_id ORDER BY COUNT(*) DESC LIMIT 1`); err != nil {
			return fmt.Errorf("no conversations to measure: run parley dev seed first: %w", err)
		}
	}
	if agent == 0 {
		if err := db.SQL().GetContext(ctx, &agent, db.SQL().Rebind(`SELECT assignee_id FROM conversations
WHERE account_id = ? AND assignee_id IS NOT NULL GROUP BY assignee_id ORDER BY COUNT(*) DESC LIMIT 1`), account); err != nil {
			return fmt.Errorf("no assigned conversations to measure view=mine with: %w", err)
		}
	}
	acc := parley.ID(account)
	cases := []struct {
		name string
		f    conversations.ConversationFilter
	}{
		{"view=all", conversations.ConversationFilter{AccountID: acc}},
		{"view=all page 3", conversations.ConversationFilter{AccountID: acc}},
		{"view=mine", conversations.ConversationFilter{AccountID: acc, AssigneeID: parley.ID(agent)}},
		{"view=all status=new,open", conversations.ConversationFilter{AccountID: acc, Statuses: []conversations.Status{"new", "open"}}},
		{"view=unassigned", conversations.ConversationFilter{AccountID: acc, Unassigned: true}},
		{"q=gutter (rare word)", conversations.ConversationFilter{AccountID: acc, Query: "gutter"}},
		{"q=quote (common word)", conversations.ConversationFilter{AccountID: acc, Query: "quote"}},
		{"q=hopper (contact name)", conversations.ConversationFilter{AccountID: acc, Query: "hopper"}},
		{"q=0042 (last digits)", conversations.ConversationFilter{AccountID: acc, Query: "0042"}},
		{"view=mine q=gutter", conversations.ConversationFilter{AccountID: acc, AssigneeID: parley.ID(agent), Query: "gutter"}},
	}
	fmt.Fprintf(stdout, "database %s, %d runs each, page of 50\n", db.URL, runs)
	summary := listSummary{Kind: "inbox", DB: db.Dialect()}
	if err := db.SQL().GetContext(ctx, &summary.Conversations, db.SQL().Rebind(`SELECT COUNT(*) FROM conversations WHERE account_id = ?`), account); err != nil {
		return err
	}
	if err := db.SQL().GetContext(ctx, &summary.Messages, db.SQL().Rebind(`SELECT COUNT(*) FROM messages WHERE account_id = ?`), account); err != nil {
		return err
	}
	for _, c := range cases {
		f := c.f
		f.Page = conversations.Page{Limit: 50}
		if c.name == "view=all page 3" {
			for i := 0; i < 2; i++ {
				_, next, err := db.FindConversations(ctx, f)
				if err != nil {
					return err
				}
				f.Page.Cursor = next
			}
		}
		durations := make([]time.Duration, 0, runs)
		n := 0
		for i := 0; i < runs+runs/10; i++ { // the first tenth warms caches
			start := time.Now()
			got, _, err := db.FindConversations(ctx, f)
			if err != nil {
				return err
			}
			if i >= runs/10 {
				durations = append(durations, time.Since(start))
			}
			n = len(got)
		}
		slices.Sort(durations)
		p50, p95 := durations[len(durations)/2], durations[len(durations)*95/100]
		fmt.Fprintf(stdout, "%-28s rows=%-3d median=%-9s p95=%-9s max=%s\n", c.name, n,
			p50.Round(time.Microsecond), p95.Round(time.Microsecond), durations[len(durations)-1].Round(time.Microsecond))
		summary.Queries = append(summary.Queries, listFigure{Name: c.name, P50: ms(p50), P95: ms(p95)})
		summary.WorstP95 = max(summary.WorstP95, ms(p95))
		if explain {
			plan, err := db.ExplainConversations(ctx, f)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s\n", plan)
		}
	}
	line, err := json.Marshal(summary)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, string(line))
	return nil
}

// listSummary is listbench's closing JSON line.
type listSummary struct {
	Kind          string       `json:"kind"`
	DB            string       `json:"db"`
	Conversations int          `json:"conversations"`
	Messages      int          `json:"messages"`
	WorstP95      float64      `json:"worst_p95_ms"`
	Queries       []listFigure `json:"queries"`
}

type listFigure struct {
	Name string  `json:"name"`
	P50  float64 `json:"p50_ms"`
	P95  float64 `json:"p95_ms"`
}

// ms is a duration in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
