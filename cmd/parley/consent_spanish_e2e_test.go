package main

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// spanishPack is the settings' Spanish pack as the API shows it.
func (e *env) spanishPack() map[string]any {
	e.t.Helper()
	s := e.must(200, e.admin("GET", "/v1/settings/conversations", nil))
	langs, _ := s["languages"].(map[string]any)
	es, _ := langs["es"].(map[string]any)
	if es == nil {
		e.t.Fatalf("the settings have no languages.es: %v", s)
	}
	return es
}

// keywordLanguages are the keyword and language of each keyword event of the phone's conversation.
func (e *env) keywordLanguages(phone string) []string {
	e.t.Helper()
	conv := e.must(200, e.admin("GET", "/v1/conversations?contact_phone="+url.QueryEscape(phone), nil))["data"].([]any)[0].(map[string]any)
	var langs []string
	for _, ev := range e.must(200, e.admin("GET", fmt.Sprintf("/v1/conversations/%s/events", conv["id"]), nil))["data"].([]any) {
		ev := ev.(map[string]any)
		if t := ev["type"]; t == "opted_out" || t == "opted_in" || t == "help_requested" {
			data, _ := ev["data"].(map[string]any)
			langs = append(langs, fmt.Sprint(data["keyword"], "/", data["language"]))
		}
	}
	return langs
}

// TestConsentSpanish: with the Spanish pack switched on through the API, a
// contact's PARAR opts out and INICIAR opts back in, each confirmed in
// Spanish through the carrier; another contact's STOP is confirmed in
// English; with the pack off, PARAR is an ordinary message.
func TestConsentSpanish(t *testing.T) {
	e := boot(t, "")
	e.setupChannel(nil)
	const (
		hablante = "+14155550161"
		speaker  = "+14155550162"
		other    = "+14155550163"
	)
	settings := e.must(200, e.admin("GET", "/v1/settings/conversations", nil))
	es := e.spanishPack()
	if es["enabled"] != false {
		t.Fatalf("Spanish is on by default: %v", es)
	}
	esOut, esIn, esHelp := es["opt_out_reply"].(string), es["opt_in_reply"].(string), es["help_text"].(string)
	if !strings.Contains(esOut, "INICIAR") || !strings.Contains(esIn, "PARAR") || !strings.Contains(esHelp, "PARAR") || esOut == settings["opt_out_reply"] {
		t.Fatalf("the Spanish replies are %q, %q, %q", esOut, esIn, esHelp)
	}

	// Off: PARAR is an ordinary message.
	e.text(other, "PARAR")
	if c := e.optOut(other); c["opted_out"] != false {
		t.Errorf("with Spanish off, PARAR opted out: %v", c)
	}

	// A Spanish keyword that is an English one is refused, and changes nothing.
	wantAPIError(t, e.admin("PATCH", "/v1/settings/conversations", map[string]any{
		"languages": map[string]any{"es": map[string]any{"enabled": true, "keywords": map[string]any{"opt_out": []string{"PARAR", "Stop"}}}}}),
		422, "validation_failed", "languages.es.keywords.opt_out")
	if e.spanishPack()["enabled"] != false {
		t.Fatal("a refused PATCH switched Spanish on")
	}

	got := e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"languages": map[string]any{"es": map[string]any{"enabled": true}}}))
	if got["help_text"] != settings["help_text"] || got["opt_out_reply"] != settings["opt_out_reply"] {
		t.Errorf("switching Spanish on changed the English replies: %v", got)
	}
	if e.spanishPack()["enabled"] != true {
		t.Fatal("Spanish is not on after the PATCH")
	}

	e.text(hablante, "Parar")
	e.eventually("the Spanish opt-out confirmation", func() bool { return len(e.received(hablante)) == 1 })
	if got := e.received(hablante)[0]; got != esOut {
		t.Errorf("after PARAR the phone received %q, want %q", got, esOut)
	}
	if c := e.optOut(hablante); c["opted_out"] != true || c["keyword"] != "PARAR" {
		t.Errorf("consent after PARAR = %v", c)
	}

	e.text(hablante, "¡Iniciar!")
	e.eventually("the Spanish opt-in confirmation", func() bool { return len(e.received(hablante)) == 2 })
	if got := e.received(hablante)[1]; got != esIn {
		t.Errorf("after INICIAR the phone received %q, want %q", got, esIn)
	}
	if c := e.optOut(hablante); c["opted_out"] != false || c["keyword"] != "INICIAR" {
		t.Errorf("consent after INICIAR = %v", c)
	}

	e.text(hablante, "Ayuda")
	e.eventually("the Spanish help", func() bool { return len(e.received(hablante)) == 3 })
	if got := e.received(hablante)[2]; got != esHelp {
		t.Errorf("after AYUDA the phone received %q, want %q", got, esHelp)
	}
	// Accents or none.
	e.text(hablante, "no mas")
	e.eventually("the second Spanish opt-out confirmation", func() bool { return len(e.received(hablante)) == 4 })
	if got := e.received(hablante)[3]; got != esOut {
		t.Errorf("after NO MAS the phone received %q, want %q", got, esOut)
	}
	if c := e.optOut(hablante); c["opted_out"] != true || c["keyword"] != "NO MÁS" {
		t.Errorf("consent after NO MAS = %v", c)
	}
	if got, want := strings.Join(e.keywordLanguages(hablante), " "), "PARAR/es INICIAR/es AYUDA/es NO MÁS/es"; got != want {
		t.Errorf("keyword events %q, want %q", got, want)
	}

	// English keeps working, in English.
	e.text(speaker, "STOP")
	e.eventually("the English opt-out confirmation", func() bool { return len(e.received(speaker)) == 1 })
	if got := e.received(speaker)[0]; got != settings["opt_out_reply"] {
		t.Errorf("after STOP the phone received %q, want the English %q", got, settings["opt_out_reply"])
	}
	if c := e.optOut(speaker); c["opted_out"] != true || c["keyword"] != "STOP" {
		t.Errorf("consent after STOP = %v", c)
	}
	if got := e.keywordLanguages(speaker); len(got) != 1 || got[0] != "STOP/en" {
		t.Errorf("keyword events %q, want STOP/en", got)
	}

	// Off again: PARAR is an ordinary message once more.
	e.must(200, e.admin("PATCH", "/v1/settings/conversations", map[string]any{"languages": map[string]any{"es": map[string]any{"enabled": false}}}))
	e.text(other, "PARAR")
	time.Sleep(300 * time.Millisecond)
	if c := e.optOut(other); c["opted_out"] != false {
		t.Errorf("with Spanish off again, PARAR opted out: %v", c)
	}
	if got := e.received(other); len(got) != 0 {
		t.Errorf("with Spanish off, PARAR was answered %q", got)
	}
}

// TestConsentSpanishWebSettings: an admin switches Spanish on in the
// settings page and edits its opt-out reply; the API sees both, the page
// shows them after a reload, and a Spanish keyword that is English is
// refused beside the form.
func TestConsentSpanishWebSettings(t *testing.T) {
	e := boot(t, "")
	admin := e.adminMember()
	b := e.browser()
	b.signIn(admin.Email, admin.Password)
	b.open("/settings")
	b.waitText("label[for=spanish-on]", "Spanish keywords (PARAR, ALTO")
	if on := eval[bool](b, `document.getElementById("spanish-on").checked`); on {
		t.Fatal("the Spanish switch is on for a new account")
	}
	if got := eval[string](b, `document.getElementById("es-kw-opt-out").value`); !strings.Contains(got, "PARAR") || !strings.Contains(got, "NO MÁS") {
		t.Errorf("the Spanish opt-out keywords show %q", got)
	}

	const reply = "Acme: ya no recibirá mensajes. Responda INICIAR para volver."
	eval[bool](b, fmt.Sprintf(`(el => { el.value = %q; return true })(document.getElementById("es-opt-out-reply"))`, reply))
	b.do(chromedp.Click(chromedp.CSS("#spanish-on")),
		chromedp.Click(chromedp.CSS("form:has(#spanish-on) button[type=submit]")))
	within(t, 10*time.Second, "Spanish on in the API", func() bool {
		es := e.spanishPack()
		return es["enabled"] == true && es["opt_out_reply"] == reply
	})

	b.open("/settings")
	if on := eval[bool](b, `document.getElementById("spanish-on").checked`); !on {
		t.Error("after saving, the Spanish switch shows off")
	}
	if got := eval[string](b, `document.getElementById("es-opt-out-reply").value`); got != reply {
		t.Errorf("after saving, the Spanish opt-out reply shows %q", got)
	}

	eval[bool](b, `(el => { el.value = "PARAR, STOP"; return true })(document.getElementById("es-kw-opt-out"))`)
	b.click("form:has(#spanish-on) button[type=submit]")
	b.waitText("#alert", "already an opt-out keyword in English")
	if kw := e.spanishPack()["keywords"].(map[string]any)["opt_out"].([]any); len(kw) != 6 {
		t.Errorf("a refused save changed the Spanish opt-out keywords to %v", kw)
	}
}
