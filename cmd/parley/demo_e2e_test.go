package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestDemoAndWalkthrough: make run's demo comes up on a fresh database
// with the threads the README describes, and the README's walkthrough,
// pasted whole into a shell, does what its comments say: a walkthrough
// whose ids went stale answers errors, which this counts.
func TestDemoAndWalkthrough(t *testing.T) {
	if testing.Short() {
		t.Skip("builds both programs and runs the demo")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash for the demo script")
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, prog := range []string{"parley", "fakecarrier"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, prog), "./cmd/"+prog)
		build.Dir = root
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", prog, err, out)
		}
	}
	port, fakePort := freePort(t), freePort(t)
	token := filepath.Join(dir, "admin.token")
	env := append(os.Environ(), "PARLEY_DEMO_PORT="+port, "PARLEY_DEMO_FAKE_PORT="+fakePort, "PARLEY_DEMO_BIN="+dir,
		"PARLEY_DATABASE_URL=sqlite://"+filepath.Join(dir, "demo.db"), "PARLEY_TOKEN_FILE="+token, "PARLEY_LOG_LEVEL=warn")

	demo := exec.Command("bash", "scripts/run-demo.sh")
	demo.Dir, demo.Env = root, env
	// Its own group, stopped with the programs it starts; and stopped if
	// this test's process dies first (its trap then stops them).
	demo.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	out, err := demo.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	demo.Stderr = logs
	if err := demo.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-demo.Process.Pid, syscall.SIGTERM)
		_ = demo.Wait()
	})
	ready := make(chan bool, 1)
	go func() {
		sc := bufio.NewScanner(out)
		said := false
		for sc.Scan() {
			if !said && strings.Contains(sc.Text(), "Try the README walkthrough") {
				said = true
				ready <- true
			}
		}
		if !said {
			ready <- false
		}
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("the demo script ended before it was ready:\n%s", logs.String())
		}
	case <-time.After(3 * time.Minute):
		t.Fatalf("the demo was not ready within 3 minutes:\n%s", logs.String())
	}

	base := "http://127.0.0.1:" + port
	secret, err := os.ReadFile(token)
	if err != nil {
		t.Fatal(err)
	}
	var threads struct{ Data []map[string]any }
	demoGet(t, base+"/v1/conversations?limit=100", strings.TrimSpace(string(secret)), &threads)
	if len(threads.Data) != 14 {
		t.Errorf("the demo has %d threads; the README says fourteen", len(threads.Data))
	}

	shell := walkthrough(t, filepath.Join(root, "README.md"))
	shell = strings.NewReplacer("localhost:8080", "localhost:"+port, "localhost:8090", "localhost:"+fakePort,
		"cat parley-admin.token", "cat "+token, "/tmp/ada.json", filepath.Join(dir, "ada.json")).Replace(shell)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := exec.CommandContext(ctx, "bash", "-c", shell)
	run.Dir = dir
	said, err := run.CombinedOutput()
	if err != nil {
		t.Fatalf("the walkthrough: %v\n%s", err, said)
	}
	got := string(said)
	// One refusal is the walkthrough's own point: the opted-out reply.
	if n := strings.Count(got, `{"error":`); n != 1 || !strings.Contains(got, `"code":"contact_opted_out"`) {
		t.Errorf("the walkthrough answered %d errors; want only contact_opted_out:\n%s", n, got)
	}
	for _, want := range []string{`"reason":"invalid_number"`, `"type":"quote_accepted"`, `"status":"resolved","priority":"none","assignee_id":"3"`,
		`"keyword":"STOP"`, `"encoding":"UCS-2"`, `"skipped":[{"to":"not a number"`} {
		if !strings.Contains(got, want) {
			t.Errorf("the walkthrough never answered %s:\n%s", want, got)
		}
	}
	// Auto-assignment gave Ada (user 3) the next new thread.
	if !regexp.MustCompile(`"contact_phone":"\+14155550101","business_phone":"[^"]*","status":"new","priority":"none","assignee_id":"3"`).MatchString(got) {
		t.Errorf("the walkthrough's new thread after auto-assignment was switched on is not Ada's:\n%s", got)
	}
}

// walkthrough is the README's pasteable block: the one after "Then, in
// another".
func walkthrough(t *testing.T, readme string) string {
	t.Helper()
	raw, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(raw), "Then, in another")
	if ok {
		_, rest, ok = strings.Cut(rest, "```sh\n")
	}
	block, _, closed := strings.Cut(rest, "\n```")
	if !ok || !closed {
		t.Fatal(`README.md has no shell block after "Then, in another"`)
	}
	return block
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
}

func demoGet(t *testing.T, url, token string, v any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 || json.Unmarshal(body, v) != nil {
		t.Fatalf("GET %s: %d %s", url, res.StatusCode, body)
	}
}
