package conversations

import (
	"errors"
	"strings"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/optout"
)

// An account answers consent keywords in English, always, and in the
// languages it switches on besides: each is a LanguagePack of keyword
// lists and the confirmation texts that answer them. A keyword's reply
// goes out in the keyword's language.

// LanguagePack is one language's consent keywords and the help, opt-out
// and opt-in replies in that language. English's are Settings' own
// fields (HelpText, OptOutReply, OptInReply, Keywords).
type LanguagePack struct {
	Enabled     bool            `json:"enabled"`
	Keywords    optout.Keywords `json:"keywords"`
	HelpText    string          `json:"help_text"`
	OptOutReply string          `json:"opt_out_reply"`
	OptInReply  string          `json:"opt_in_reply"`
}

// Languages are the packs an account may switch on besides English.
type Languages struct {
	Spanish LanguagePack `json:"es"`
}

// DefaultSpanish is the Spanish pack, switched off: PARAR, ALTO,
// CANCELAR, BAJA, DETENER and NO MÁS opt out, INICIAR, SÍ and ALTA opt
// in, AYUDA asks for help, and the replies say what the English ones do.
func DefaultSpanish(accountName string) LanguagePack {
	return LanguagePack{
		Keywords: optout.DefaultSpanishKeywords(),
		HelpText: accountName + ": responda PARAR para cancelar la suscripción. Pueden aplicarse tarifas de mensajes y datos. " +
			"Para obtener ayuda, contáctenos en el número al que escribió.",
		OptOutReply: "Ha cancelado su suscripción y no recibirá más mensajes. Responda INICIAR para volver a suscribirse.",
		OptInReply:  "Ha vuelto a suscribirse. Responda PARAR para cancelar la suscripción o AYUDA para obtener ayuda.",
	}
}

// WithLanguageDefaults returns s with what its language packs lack (in
// settings saved before the pack existed) set to the defaults for the
// account's name. Texts and lists a pack has are kept: the settings never
// save an empty one.
func (s Settings) WithLanguageDefaults(accountName string) Settings {
	es, def := &s.Languages.Spanish, DefaultSpanish(accountName)
	if es.HelpText == "" {
		es.HelpText = def.HelpText
	}
	if es.OptOutReply == "" {
		es.OptOutReply = def.OptOutReply
	}
	if es.OptInReply == "" {
		es.OptInReply = def.OptInReply
	}
	if len(es.Keywords.OptOut) == 0 {
		es.Keywords.OptOut = def.Keywords.OptOut
	}
	if len(es.Keywords.OptIn) == 0 {
		es.Keywords.OptIn = def.Keywords.OptIn
	}
	if len(es.Keywords.Help) == 0 {
		es.Keywords.Help = def.Keywords.Help
	}
	return s
}

// KeywordPacks are the keyword lists an inbound text is matched with:
// English's, then those of the languages switched on.
func (s Settings) KeywordPacks() []optout.Pack {
	packs := []optout.Pack{{Language: optout.English, Keywords: s.Keywords}}
	if s.Languages.Spanish.Enabled {
		packs = append(packs, optout.Pack{Language: optout.Spanish, Keywords: s.Languages.Spanish.Keywords})
	}
	return packs
}

// Reply is the text that answers a keyword of intent in language: the
// pack's own, or English's when the pack has none.
func (s Settings) Reply(intent optout.Intent, language optout.Language) string {
	if language == optout.Spanish {
		if reply := s.Languages.Spanish.reply(intent); reply != "" {
			return reply
		}
	}
	return LanguagePack{HelpText: s.HelpText, OptOutReply: s.OptOutReply, OptInReply: s.OptInReply}.reply(intent)
}

// reply is the pack's text for a keyword of intent.
func (p LanguagePack) reply(intent optout.Intent) string {
	switch intent {
	case optout.IntentOptOut:
		return p.OptOutReply
	case optout.IntentOptIn:
		return p.OptInReply
	case optout.IntentHelp:
		return p.HelpText
	}
	return ""
}

// LanguagesPatch changes some language packs; nil ones are left alone.
type LanguagesPatch struct {
	Spanish *LanguagePackPatch `json:"es"`
}

// LanguagePackPatch changes some of a pack; nil fields are left alone, and
// a keyword list left out keeps its keywords.
type LanguagePackPatch struct {
	Enabled     *bool          `json:"enabled"`
	Keywords    *KeywordsPatch `json:"keywords"`
	HelpText    *string        `json:"help_text"`
	OptOutReply *string        `json:"opt_out_reply"`
	OptInReply  *string        `json:"opt_in_reply"`
}

// apply merges the patch into the Spanish pack, naming its fields
// "languages.es.…". A pack switched on must have its three replies.
func (p LanguagesPatch) apply(l Languages, fields map[string]string, setText func(dst, v *string, name string)) Languages {
	if p.Spanish == nil {
		return l
	}
	pp, es := p.Spanish, &l.Spanish
	const prefix = "languages.es."
	setText(&es.HelpText, pp.HelpText, prefix+"help_text")
	setText(&es.OptOutReply, pp.OptOutReply, prefix+"opt_out_reply")
	setText(&es.OptInReply, pp.OptInReply, prefix+"opt_in_reply")
	if pp.Keywords != nil {
		es.Keywords = pp.Keywords.apply(es.Keywords, prefix+"keywords", fields)
	}
	if pp.Enabled != nil {
		es.Enabled = *pp.Enabled
	}
	if es.Enabled {
		for _, t := range []struct{ name, text string }{{"help_text", es.HelpText}, {"opt_out_reply", es.OptOutReply}, {"opt_in_reply", es.OptInReply}} {
			if t.text == "" && fields[prefix+t.name] == "" {
				fields[prefix+t.name] = "must not be empty to switch the language on"
			}
		}
	}
	return l
}

// validateKeywords checks English's keyword lists together with those of
// the languages switched on, so that no keyword is in two languages (its
// reply's language would be ambiguous). A pack switched off whose lists
// changed is checked on its own: it is checked against English when it
// is switched on.
func (s Settings) validateKeywords(spanishChanged bool, fields map[string]string) {
	groups := [][]optout.Pack{s.KeywordPacks()}
	if !s.Languages.Spanish.Enabled && spanishChanged {
		groups = append(groups, []optout.Pack{{Language: optout.Spanish, Keywords: s.Languages.Spanish.Keywords}})
	}
	names := map[optout.Language]string{optout.English: "keywords.", optout.Spanish: "languages.es.keywords."}
	for _, packs := range groups {
		err := optout.ValidatePacks(packs...)
		if err == nil {
			continue
		}
		var pe *parley.Error
		if !errors.As(err, &pe) || len(pe.Fields) == 0 {
			fields["keywords"] = "are invalid"
			continue
		}
		for field, why := range pe.Fields {
			for lang, name := range names {
				if list, ok := strings.CutPrefix(field, string(lang)+"."); ok && fields[name+list] == "" {
					fields[name+list] = why
				}
			}
		}
	}
}
