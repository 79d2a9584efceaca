package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/store"
)

// runUser runs "parley user <subcommand>".
func runUser(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "set-password" {
		return runUserSetPassword(ctx, args[1:], getenv, stdin, stdout, stderr)
	}
	userUsage := "usage: parley user set-password " + commands["user set-password"].synopsis + "\n"
	switch {
	case len(args) == 0:
		fmt.Fprint(stderr, userUsage)
		return errUsage
	case isHelp(args[0]):
		fmt.Fprint(stdout, userUsage)
		return errHelp
	}
	return unknownCommand(stderr, "user "+args[0])
}

// runUserSetPassword gives a user a password for the web inbox from the
// shell, for the first admin or anyone locked out: it reads the password
// from standard input, without echo on a terminal, and signs the user out
// of every browser.
func runUserSetPassword(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	var email, account string
	cfg, err := parseConfig("user set-password", args, getenv, stdout, stderr, func(_ *Config, fs *flag.FlagSet) {
		fs.StringVar(&email, "email", "", "the user's email (required)")
		fs.StringVar(&account, "account", "", "the user's account id, when the email is a user in several accounts")
	})
	if err != nil {
		return err
	}
	if email == "" {
		fmt.Fprintln(stderr, "parley user set-password: --email is required")
		return errUsage
	}
	var accountID parley.ID
	if account != "" {
		if accountID, err = parley.ParseID(account); err != nil {
			fmt.Fprintf(stderr, "parley user set-password: --account: want an account id, got %q\n", account)
			return errUsage
		}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	user, err := userToSetPassword(ctx, db, conversations.NormalEmail(email), accountID)
	if err != nil {
		return err
	}
	password, err := readNewPassword(stdin, stderr)
	if err != nil {
		return err
	}
	hash, err := conversations.HashPassword(password)
	if err != nil {
		return passwordError(err)
	}
	if err := db.SetPassword(ctx, user.AccountID, user.ID, hash, parley.SystemClock{}.Now()); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "password set for %s (user %s, account %s); their browser sessions were signed out\n", user.Email, user.ID, user.AccountID)
	return nil
}

// userToSetPassword is the one active user with the email, in account
// when it is set.
func userToSetPassword(ctx context.Context, db *store.DB, email string, account parley.ID) (conversations.User, error) {
	users, err := db.UsersByEmail(ctx, email)
	if err != nil {
		return conversations.User{}, err
	}
	var found []conversations.User
	for _, u := range users {
		if account == 0 || u.AccountID == account {
			found = append(found, u.User)
		}
	}
	switch {
	case len(found) == 0 && account != 0:
		return conversations.User{}, fmt.Errorf("no active user %s in account %s", email, account)
	case len(found) == 0:
		return conversations.User{}, fmt.Errorf("no active user %s", email)
	case len(found) > 1:
		ids := make([]string, len(found))
		for i, u := range found {
			ids[i] = u.AccountID.String()
		}
		return conversations.User{}, fmt.Errorf("%s is a user in accounts %s: say which with --account", email, strings.Join(ids, ", "))
	}
	return found[0], nil
}

// readNewPassword reads a password typed twice, unechoed, on a terminal;
// otherwise the first line of stdin (echo "…" | parley user set-password).
func readNewPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(stderr, "New password (at least %d characters): ", conversations.MinPasswordLength)
		first, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if err := conversations.CheckPassword(string(first)); err != nil {
			return "", passwordError(err)
		}
		fmt.Fprint(stderr, "The same again: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(stderr)
		if err != nil {
			return "", err
		}
		if string(first) != string(again) {
			return "", errors.New("the two passwords differ")
		}
		return string(first), nil
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

// passwordError says why a password was refused in words for the shell.
func passwordError(err error) error {
	var pe *parley.Error
	if errors.As(err, &pe) && pe.Fields["password"] != "" {
		return errors.New("the password " + pe.Fields["password"])
	}
	return err
}
