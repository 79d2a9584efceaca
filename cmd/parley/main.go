// Command parley is the Parley SMS conversations gateway.
//
//	parley serve                               serve the API and webhooks
//	parley migrate                             migrate the database and exit
//	parley account create --name N [--token T] create a tenant and its first admin
//	parley version                             print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "parley:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

const usage = `usage: parley <command> [flags]

commands:
  serve                                 serve the API and carrier webhooks
  migrate                               migrate the database up and exit
  account create --name NAME [--token T] create a tenant with its first admin; prints the admin token
  version                               print the version
  dev seed|listbench                    measurement tools: synthetic data, list latency and query plans
  bench                                 load: signed webhooks at Parley (closed or open loop) against the raw ingest ceiling

Every command reads the PARLEY_* environment variables; "parley serve -h" lists them.
`

// run is the whole program, with its environment passed in so that tests
// can run it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
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
	case "dev":
		return runDev(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], getenv, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "parley", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return errUsage
}

func parseConfig(name string, args []string, getenv func(string) string, stdout, stderr io.Writer, extra func(*Config, *flag.FlagSet)) (Config, error) {
	var cfg Config
	fs := flags(name, &cfg, getenv, stderr)
	if extra != nil {
		extra(&cfg, fs)
	}
	if err := fs.Parse(args); err != nil {
		return cfg, errUsage
	}
	return cfg, cfg.finish(stdout)
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
		fs.StringVar(&token, "token", "", "the admin's API token (default: generated)")
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
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "account %s (%s), admin user %s\ntoken: %s\n", acc.ID, acc.Name, user.ID, secret.Secret)
	return nil
}

// newLogger builds the one logger of the process.
func newLogger(cfg Config, w io.Writer) (zerolog.Logger, error) {
	level, err := zerolog.ParseLevel(cfg.LogLevel)
	if err != nil || cfg.LogLevel == "" {
		return zerolog.Nop(), fmt.Errorf("PARLEY_LOG_LEVEL: want debug, info, warn or error, got %q", cfg.LogLevel)
	}
	zerolog.TimeFieldFormat = time.RFC3339Nano
	if cfg.LogFormat == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
	}
	return zerolog.New(w).Level(level).With().Timestamp().Logger(), nil
}
