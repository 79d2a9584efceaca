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
	"github.com/parleyhq/parley/outcomes"
	"github.com/parleyhq/parley/store"
	"github.com/parleyhq/parley/store/devdb"
)

const devUsage = "usage: parley dev seed|listbench|reportbench [flags]"

// runDev is `parley dev …`: tools for measuring Parley, not for production.
func runDev(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "seed":
			return runDevSeed(ctx, args[1:], getenv, stdout, stderr)
		case "listbench":
			return runDevListBench(ctx, args[1:], getenv, stdout, stderr)
		case "reportbench":
			return runDevReportBench(ctx, args[1:], getenv, stdout, stderr)
		}
		if !isHelp(args[0]) {
			return unknownCommand(stderr, "dev "+args[0])
		}
		fmt.Fprintln(stdout, devUsage)
		return errHelp
	}
	fmt.Fprintln(stderr, devUsage)
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

// openTools opens the migrated store and the measuring tools' own
// connection beside it; closing closes both.
func openTools(ctx context.Context, cfg Config) (*store.DB, *devdb.DB, func(), error) {
	db, err := openDev(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	tools, err := devdb.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		db.Close()
		return nil, nil, nil, err
	}
	return db, tools, func() { tools.Close(); db.Close() }, nil
}

// runDevSeed fills an account with synthetic conversations and messages.
func runDevSeed(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var spec devdb.SeedSpec
	var account int64
	cfg, err := parseConfig("dev seed", args, getenv, stdout, stderr, func(_ *Config, fs *flag.FlagSet) {
		fs.IntVar(&spec.Conversations, "conversations", 100_000, "conversations (one contact and phone each)")
		fs.IntVar(&spec.Messages, "messages", 1_000_000, "messages in total")
		fs.IntVar(&spec.Agents, "agents", 50, "agents to assign conversations to")
		fs.IntVar(&spec.Vocabulary, "vocabulary", 0, "half of each text's words from this many others, Zipf-distributed (0: the fixed score of common words only)")
		fs.IntVar(&spec.Contacts, "contacts", 0, "contacts in all, when more than conversations (the rest have no conversation: campaign audiences)")
		fs.StringVar(&spec.ContactType, "contact-type", "", "every seeded contact's type (for a campaign filter)")
		fs.IntVar(&spec.Outcomes, "outcomes", 0, "outcomes over the conversations (with their quotes, invoices and projects linked)")
		fs.Int64Var(&account, "account-id", 0, "the account to fill (default: a new account)")
		fs.Uint64Var(&spec.Seed, "seed", 1, "random seed (same seed, same data)")
	})
	if err != nil {
		return err
	}
	db, tools, closeAll, err := openTools(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll()
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
	res, err := tools.Seed(ctx, db, spec)
	if err != nil {
		return err
	}
	// As a running parley would within minutes (PostgreSQL).
	if err := db.RebuildRecentSearch(ctx, store.RecentSearchShare, spec.Now); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d contacts, %d conversations, %d messages and %d outcomes in %s: inbox %s, channel %s",
		max(spec.Contacts, spec.Conversations), spec.Conversations, spec.Messages, spec.Outcomes, time.Since(start).Round(time.Second), res.InboxID, res.ChannelID)
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
	db, tools, closeAll, err := openTools(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	acc, mine := parley.ID(account), parley.ID(agent)
	if acc == 0 {
		if acc, err = tools.BusiestAccount(ctx); err != nil {
			return fmt.Errorf("no conversations to measure: run parley dev seed first: %w", err)
		}
	}
	if mine == 0 {
		if mine, err = tools.BusiestAssignee(ctx, acc); err != nil {
			return fmt.Errorf("no assigned conversations to measure view=mine with: %w", err)
		}
	}
	subjects, err := tools.ListSubjects(ctx, acc)
	if err != nil {
		return err
	}
	cases := listBenchCases(mine, subjects)
	fmt.Fprintf(stdout, "database %s, %d runs each, page of 50 unless said\n", db.URL, runs)
	summary := listSummary{Kind: "inbox", DB: db.Dialect()}
	if summary.Conversations, summary.Messages, err = tools.Size(ctx, acc); err != nil {
		return err
	}
	for _, c := range cases {
		f := c.f
		f.AccountID = acc
		if f.Page.Limit == 0 {
			f.Page.Limit = 50
		}
		for i := 1; i < c.page; i++ {
			_, next, err := db.FindConversations(ctx, f)
			if err != nil {
				return err
			}
			if next == "" {
				break // a small inbox: measure its last page
			}
			f.Page.Cursor = next
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
		fmt.Fprintf(stdout, "%-46s rows=%-3d median=%-9s p95=%-9s max=%s\n", c.name, n,
			p50.Round(time.Microsecond), p95.Round(time.Microsecond), durations[len(durations)-1].Round(time.Microsecond))
		summary.Queries = append(summary.Queries, listFigure{Name: c.name, P50: ms(p50), P95: ms(p95)})
		summary.WorstP95 = max(summary.WorstP95, ms(p95))
		if explain {
			plan, err := tools.ExplainConversations(ctx, db, f)
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

// listCase is one list the inbox asks for: a filter of GET
// /v1/conversations (view=mine is AssigneeID, view=unassigned Unassigned),
// measured on its page-th page.
type listCase struct {
	name string
	f    conversations.ConversationFilter
	page int
}

// listBenchCases are the lists measured: every view, each filter alone,
// the combinations an inbox uses, every form of q, alone and with a
// view, on first and later pages, and the Outcome filter. The first ten
// keep their names, so that docs/PERFORMANCE.md's figures stay comparable.
func listBenchCases(mine parley.ID, s devdb.ListSubjects) []listCase {
	type filter = conversations.ConversationFilter
	type st = conversations.Status
	in, quiet, empty, phone := s.Inbox, s.QuietAgent, s.EmptyInbox, s.Phone
	newOpen := []st{"new", "open"}
	paid, every := outcomes.MaskOf(outcomes.InvoicePaid), outcomes.MaskOf(outcomes.Types...)
	return []listCase{
		{"view=all", filter{}, 1},
		{"view=all page 3", filter{}, 3},
		{"view=mine", filter{AssigneeID: mine}, 1},
		{"view=all status=new,open", filter{Statuses: newOpen}, 1},
		{"view=unassigned", filter{Unassigned: true}, 1},
		{"q=gutter (rare word)", filter{Query: "gutter"}, 1},
		{"q=quote (common word)", filter{Query: "quote"}, 1},
		{"q=hopper (contact name)", filter{Query: "hopper"}, 1},
		{"q=0042 (last digits)", filter{Query: "0042"}, 1},
		{"view=mine q=gutter", filter{AssigneeID: mine, Query: "gutter"}, 1},

		// Each filter alone.
		{"status=resolved", filter{Statuses: []st{"resolved"}}, 1},
		{"status=snoozed", filter{Statuses: []st{"snoozed"}}, 1},
		{"status=pending,snoozed,closed", filter{Statuses: []st{"pending", "snoozed", "closed"}}, 1},
		{"inbox_id", filter{InboxID: in}, 1},
		{"inbox_id (an empty inbox)", filter{InboxID: empty}, 1},
		{"assignee_id (least busy agent)", filter{AssigneeID: quiet}, 1},
		{"contact_phone", filter{ContactPhone: phone}, 1},
		{"contact_id (a contact's conversations)", filter{ContactID: s.Contact}, 1},
		{"view=all limit=200", filter{Page: conversations.Page{Limit: 200}}, 1},

		// Combinations, and later pages.
		{"view=all page 100", filter{}, 100},
		{"view=mine page 3", filter{AssigneeID: mine}, 3},
		{"view=mine status=new,open", filter{AssigneeID: mine, Statuses: newOpen}, 1},
		{"view=mine status=snoozed", filter{AssigneeID: mine, Statuses: []st{"snoozed"}}, 1},
		{"view=unassigned page 3", filter{Unassigned: true}, 3},
		{"view=unassigned status=new,open", filter{Unassigned: true, Statuses: newOpen}, 1},
		{"view=unassigned status=resolved,closed", filter{Unassigned: true, Statuses: []st{"resolved", "closed"}}, 1},
		{"view=all status=new,open page 3", filter{Statuses: newOpen}, 3},
		{"view=unassigned inbox_id status=new", filter{Unassigned: true, InboxID: in, Statuses: []st{"new"}}, 1},
		{"inbox_id assignee_id status=open", filter{InboxID: in, AssigneeID: mine, Statuses: []st{"open"}}, 1},
		{"view=unassigned inbox_id (an empty inbox)", filter{Unassigned: true, InboxID: empty}, 1},

		// Every form of q.
		{"q=gut (a prefix, while typing)", filter{Query: "gut"}, 1},
		{"q=ada hopper (a full name)", filter{Query: "ada hopper"}, 1},
		{"q=gutter quote (two words)", filter{Query: "gutter quote"}, 1},
		{"q=quote today please (three words)", filter{Query: "quote today please"}, 1},
		{"q=full phone (E.164)", filter{Query: phone}, 1},
		{"q=(628) 200-004 (first digits)", filter{Query: "(628) 200-004"}, 1},
		{"q=zqxj (no match)", filter{Query: "zqxj"}, 1},
		{"q=gutter page 2", filter{Query: "gutter"}, 2},
		{"q=quote page 3", filter{Query: "quote"}, 3},
		{"q=hopper page 3", filter{Query: "hopper"}, 3},
		{"q=hopper page 20", filter{Query: "hopper"}, 20},

		// q with a view and filters.
		{"view=mine q=quote", filter{AssigneeID: mine, Query: "quote"}, 1},
		{"view=mine q=hopper", filter{AssigneeID: mine, Query: "hopper"}, 1},
		{"view=mine q=ada hopper", filter{AssigneeID: mine, Query: "ada hopper"}, 1},
		{"view=mine q=0042", filter{AssigneeID: mine, Query: "0042"}, 1},
		{"view=mine q=zqxj (no match)", filter{AssigneeID: mine, Query: "zqxj"}, 1},
		{"view=mine status=snoozed q=hopper", filter{AssigneeID: mine, Statuses: []st{"snoozed"}, Query: "hopper"}, 1},
		{"view=mine status=new,open q=quote", filter{AssigneeID: mine, Statuses: newOpen, Query: "quote"}, 1},
		{"view=unassigned q=quote", filter{Unassigned: true, Query: "quote"}, 1},
		{"view=unassigned q=gutter", filter{Unassigned: true, Query: "gutter"}, 1},
		{"view=unassigned status=new,open q=ada hopper", filter{Unassigned: true, Statuses: newOpen, Query: "ada hopper"}, 1},
		{"view=all status=new,open q=hopper", filter{Statuses: newOpen, Query: "hopper"}, 1},
		{"view=all status=snoozed q=gutter", filter{Statuses: []st{"snoozed"}, Query: "gutter"}, 1},
		{"inbox_id q=gutter", filter{InboxID: in, Query: "gutter"}, 1},
		{"inbox_id (an empty inbox) q=quote", filter{InboxID: empty, Query: "quote"}, 1},
		{"contact_phone q=quote", filter{ContactPhone: phone, Query: "quote"}, 1},

		// The Outcome filter (seed with --outcomes): any of the types
		// walks conversations_with_outcomes; "without outcome" filters a
		// view's walk.
		{"outcome=invoice_paid", filter{OutcomesAny: paid}, 1},
		{"outcome=invoice_paid page 3", filter{OutcomesAny: paid}, 3},
		{"outcome=quote_sent,quote_accepted", filter{OutcomesAny: outcomes.MaskOf(outcomes.QuoteSent, outcomes.QuoteAccepted)}, 1},
		{"outcome=lead_abandoned (the rarest)", filter{OutcomesAny: outcomes.MaskOf(outcomes.LeadAbandoned)}, 1},
		{"outcome_absent=every type", filter{OutcomesAbsent: every}, 1},
		{"view=mine outcome=invoice_paid", filter{AssigneeID: mine, OutcomesAny: paid}, 1},
		{"view=unassigned outcome_absent=every type", filter{Unassigned: true, OutcomesAbsent: every}, 1},
		{"status=new,open outcome=invoice_paid", filter{Statuses: newOpen, OutcomesAny: paid}, 1},
		{"inbox_id outcome=invoice_paid", filter{InboxID: in, OutcomesAny: paid}, 1},
		{"q=quote outcome=invoice_paid", filter{Query: "quote", OutcomesAny: paid}, 1},
		{"q=hopper outcome_absent=every type", filter{Query: "hopper", OutcomesAbsent: every}, 1},
	}
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
