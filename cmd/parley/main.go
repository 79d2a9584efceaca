// Command parley is the Parley SMS conversations gateway.
//
//	parley serve                                         serve the API and webhooks
//	parley migrate                                       migrate the database and exit
//	parley account create --name N [--email E] [--token T] create a tenant and its first admin
//	parley user set-password --email E [--account A]      set a web inbox password, read from stdin
//	parley version [--json]                              print the version and revision
//
// "parley <command> -h" lists a command's flags.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"
	_ "time/tzdata" // time zones (quiet hours, snoozes) on hosts without a zone database

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// Once shutting down, a second signal takes its default action: the
	// process ends at once.
	go func() { <-ctx.Done(); stop() }()
	if err := runWithStdin(ctx, os.Args[1:], os.Getenv, os.Stdin, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "parley:", err)
		}
		os.Exit(1)
	}
}

var (
	// errUsage is a command line that is not understood; its usage was printed.
	errUsage = errors.New("usage")
	// errHelp is -h: the usage was printed to stdout, and that is success.
	errHelp = errors.New("help")
)

const usage = `usage: parley <command> [flags]

commands:
  serve                                 serve the API and carrier webhooks
  migrate                               migrate the database up and exit
  account create --name NAME [--email EMAIL] [--token TOKEN]
                                        create a tenant with its first admin; prints the admin token
  user set-password --email EMAIL [--account ID]
                                        set a user's web inbox password, read from stdin (no echo on a terminal)
  version [--json]                      print the version and the revision it was built from
  dev seed|listbench|reportbench        measurement tools: synthetic data, list latency and query plans
  bench                                 load: signed webhooks at Parley (closed or open loop) against the raw ingest ceiling

"parley <command> -h" lists a command's flags. Every command reads the
PARLEY_* environment variables; "parley serve -h" lists them.
`

// run is the whole program, with its environment passed in so that tests
// can run it; its standard input is empty.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return runWithStdin(ctx, args, getenv, strings.NewReader(""), stdout, stderr)
}

// runWithStdin is run reading stdin (parley user set-password does).
func runWithStdin(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	err := dispatch(ctx, args, getenv, stdin, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil
	}
	return cliError(err)
}

// cliError turns a *parley.Error, written for API clients, into what an
// operator reads: its message and the fields it names, not its Go form.
func cliError(err error) error {
	var pe *parley.Error
	if !errors.As(err, &pe) {
		return err
	}
	msg := pe.Message
	if len(pe.Fields) > 0 {
		names := slices.Sorted(maps.Keys(pe.Fields))
		details := make([]string, len(names))
		for i, name := range names {
			details[i] = name + " " + pe.Fields[name]
		}
		msg += ": " + strings.Join(details, "; ")
	}
	return &operatorError{msg: msg, err: err}
}

type operatorError struct {
	msg string
	err error
}

func (e *operatorError) Error() string { return e.msg }
func (e *operatorError) Unwrap() error { return e.err }

func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "account":
		if len(args) > 1 && args[1] == "create" {
			return runAccountCreate(ctx, args[2:], getenv, stdout, stderr)
		}
		accountUsage := "usage: parley account create " + commands["account create"].synopsis + "\n"
		if len(args) == 1 {
			fmt.Fprint(stderr, accountUsage)
			return errUsage
		}
		if isHelp(args[1]) {
			fmt.Fprint(stdout, accountUsage)
			return errHelp
		}
		return unknownCommand(stderr, "account "+args[1])
	case "user":
		return runUser(ctx, args[1:], getenv, stdin, stdout, stderr)
	case "dev":
		return runDev(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		return runVersion(args[1:], stdout, stderr)
	}
	if isHelp(args[0]) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	return unknownCommand(stderr, args[0])
}

func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// unknownCommand names what was not understood, then lists the commands.
func unknownCommand(stderr io.Writer, name string) error {
	fmt.Fprintf(stderr, "parley: unknown command %q\n\n%s", name, usage)
	return errUsage
}

// commandSpec is what a command's -h shows: the rest of its usage line and
// the settings it offers as flags. Every setting is still read from its
// PARLEY_* variable, but only those a command uses are listed for it.
type commandSpec struct {
	synopsis string
	settings []string // flag names; nil is every setting
}

var commands = map[string]commandSpec{
	"serve":             {synopsis: "[flags]"},
	"migrate":           {synopsis: "[flags]", settings: []string{"database-url"}},
	"account create":    {synopsis: "--name NAME [--email EMAIL] [--token TOKEN] [flags]", settings: []string{"database-url"}},
	"user set-password": {synopsis: "--email EMAIL [--account ID] [flags]  (the password is typed, or read from stdin)", settings: []string{"database-url"}},
	"dev seed":          {synopsis: "[flags]", settings: []string{"database-url"}},
	"dev listbench":     {synopsis: "[flags]", settings: []string{"database-url"}},
	"dev reportbench":   {synopsis: "[flags]", settings: []string{"database-url"}},
	"bench":             {synopsis: "[flags]", settings: []string{"database-url", "public-url", "outbox-lease"}},
}

// parseConfig reads the settings and the flags of the command name.
func parseConfig(name string, args []string, getenv func(string) string, stdout, stderr io.Writer, extra func(*Config, *flag.FlagSet)) (Config, error) {
	var cfg Config
	spec := commands[name]
	fs := flags(name, &cfg, getenv, spec.settings)
	if extra != nil {
		extra(&cfg, fs)
	}
	if err := parseFlags(fs, args, spec, stdout, stderr); err != nil {
		return cfg, err
	}
	return cfg, cfg.finish(stdout)
}

// parseFlags parses a command's flags: -h prints its usage to stdout
// (errHelp), a bad flag or argument its error and usage to stderr (errUsage).
func parseFlags(fs *flag.FlagSet, args []string, spec commandSpec, stdout, stderr io.Writer) error {
	fs.SetOutput(stderr)
	fs.Usage = func() {} // printed below, to stdout for -h
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, fs, spec)
		return errHelp
	}
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q", fs.Arg(0))
		fmt.Fprintf(stderr, "%s: %v\n", fs.Name(), err)
	}
	if err != nil {
		printUsage(stderr, fs, spec)
		return errUsage
	}
	return nil
}

func printUsage(w io.Writer, fs *flag.FlagSet, spec commandSpec) {
	fmt.Fprintf(w, "usage: %s %s\n\nflags:\n", fs.Name(), spec.synopsis)
	fs.SetOutput(w)
	fs.PrintDefaults()
}

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig("serve", args, getenv, stdout, stderr, nil)
	if err != nil {
		return err
	}
	m := NewMain(cfg, stdout)
	if err := m.Run(ctx); err != nil {
		m.Close()
		return err
	}
	<-ctx.Done()
	m.Log.Info().Stringer("drain", m.Config.drain).Msg("shutting down: /readyz answers 503 while load balancers drain; a second signal exits at once")
	m.Drain()
	time.Sleep(m.Config.drain)
	m.Log.Info().Msg("shutting down: finishing in-flight requests")
	return m.Close()
}

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig("migrate", args, getenv, stdout, stderr, nil)
	if err != nil {
		return err
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	current, _, err := db.SchemaVersions(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "applied %d migrations; schema version %d\n", n, current)
	return nil
}

func runAccountCreate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	var name, token, email string
	cfg, err := parseConfig("account create", args, getenv, stdout, stderr, func(_ *Config, fs *flag.FlagSet) {
		fs.StringVar(&name, "name", "", "the account's name (required)")
		fs.StringVar(&token, "token", "", "the admin's API token, at least 32 characters (default: generated)")
		fs.StringVar(&email, "email", "admin@parley.local", "the admin's email")
	})
	if err != nil {
		return err
	}
	if name == "" {
		fmt.Fprintln(stderr, "parley account create: --name is required")
		return errUsage
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	secret := conversations.NewTokenSecret()
	if token != "" {
		if secret, err = operatorSecret("--token", token); err != nil {
			return err
		}
	}
	admin := conversations.NewUser{Email: email, Name: "Admin", Role: conversations.RoleAdmin}
	if err := admin.Validate(); err != nil {
		return err
	}
	acc, user, err := db.CreateAccount(ctx, name, admin, secret, parley.SystemClock{}.Now())
	if parley.IsKind(err, parley.ECONFLICT) && token != "" {
		return errors.New("--token is already another user's API token: choose another, or leave it out to have one generated")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "account %s (%s), admin user %s\ntoken: %s\n", acc.ID, acc.Name, user.ID, secret.Secret)
	return nil
}

// timeFormatOnce sets zerolog's process-wide time format once: tests boot
// several servers at once, and every logger reads it.
var timeFormatOnce sync.Once

// newLogger builds the one logger of the process.
func newLogger(cfg Config, w io.Writer) (zerolog.Logger, error) {
	// zerolog also knows trace, fatal, panic, disabled and numbers: not
	// settings an operator is offered, and "disabled" would silence every
	// error.
	level, err := zerolog.ParseLevel(strings.ToLower(cfg.LogLevel))
	if err != nil || level < zerolog.DebugLevel || level > zerolog.ErrorLevel || cfg.LogLevel == "" {
		return zerolog.Nop(), fmt.Errorf("PARLEY_LOG_LEVEL: want debug, info, warn or error, got %q", cfg.LogLevel)
	}
	timeFormatOnce.Do(func() { zerolog.TimeFieldFormat = time.RFC3339Nano })
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}
