package optout

import "fmt"

// The revocation rules. Each rule id is stable: it is stored with the
// flag and shown in the API and the inbox, so an id is never renamed or
// given a new meaning; a new kind of phrase gets a new id. The ids, each
// with an example:
//
// English:
//
//	keyword-clause   a clause that is an opt-out word: "Stop please", "STOP who is this", "I said stop"
//	fcc-words        the FCC's words and phrasings: "revoke my consent", "opt me out", "unsubscribe", "cancel texts"
//	stop-contacting  "stop texting me", "stop sending me these messages", "how do I stop these texts"
//	negated-want     "I don't want any more messages", "no longer want to receive texts"
//	not-consented    "I never signed up for this", "I didn't ask for these texts"
//	not-interested   "not interested", "no longer interested"
//	no-more          "no more texts", "No texts please"
//	dont-contact     "Do not text this number", "don't contact me", "don't call or text me"
//	remove-me        "remove me from your list", "take me off", "delete my number"
//	leave-alone      "leave me alone", "lose my number", "go away"
//	fed-up           "I'm sick of these texts", "enough with the texts"
//	wrong-number     "wrong number", "you have the wrong person", "this is no longer Maria's number"
//	unwanted         "why do you keep texting me", "I keep getting these texts"
//
// Spanish:
//
//	es-keyword-clause  "BAJA por favor", "ALTO"
//	es-fcc-words       "quiero darme de baja", "cancelar suscripción"
//	es-stop-contacting "dejen de escribirme", "paren de mandarme mensajes"
//	es-negated-want    "ya no quiero recibir mensajes", "no quiero que me escriban"
//	es-not-consented   "nunca me suscribí", "yo no pedí estos mensajes"
//	es-not-interested  "no me interesa"
//	es-no-more         "no más mensajes", "basta de mensajes"
//	es-dont-contact    "no me envíen más mensajes", "no me escriban más"
//	es-remove-me       "bórrenme de su lista", "eliminen mi número"
//	es-leave-alone     "déjenme en paz"
//	es-wrong-number    "número equivocado", "se equivocó de número"
//	es-unwanted        "no dejan de escribirme"
//
// Patterns are written in key form (see wordKey) in the syntax described
// in revocation_match.go. A rule is tried at every word of a clause; the
// leftmost match wins, and at one word the first rule in the table.
// Every rule's example is checked by TestRuleExamples.

// reasons begins the Reason of each rule, before the quoted words. Each
// is at most 36 bytes, so a Reason fits in maxReasonBytes.
var reasons = map[string]string{
	"keyword-clause":  "Replies with an opt-out word:",
	"fcc-words":       "Uses the FCC's opt-out words:",
	"stop-contacting": "Asks to stop contact:",
	"negated-want":    "Says they don't want the texts:",
	"not-consented":   "Says they never agreed to texts:",
	"not-interested":  "Says they're not interested:",
	"no-more":         "Asks for no more messages:",
	"dont-contact":    "Asks not to be contacted:",
	"remove-me":       "Asks to be taken off the list:",
	"leave-alone":     "Asks to be left alone:",
	"fed-up":          "Says they're fed up with the texts:",
	"wrong-number":    "Says it's the wrong number:",
	"unwanted":        "Complains about the texts:",

	"es-keyword-clause":  "Replies with an opt-out word (es):",
	"es-fcc-words":       "Asks to unsubscribe (es):",
	"es-stop-contacting": "Asks to stop contact (es):",
	"es-negated-want":    "Says they don't want texts (es):",
	"es-not-consented":   "Says they never agreed (es):",
	"es-not-interested":  "Says they're not interested (es):",
	"es-no-more":         "Asks for no more messages (es):",
	"es-dont-contact":    "Asks not to be contacted (es):",
	"es-remove-me":       "Asks to be taken off the list (es):",
	"es-leave-alone":     "Asks to be left alone (es):",
	"es-wrong-number":    "Says it's the wrong number (es):",
	"es-unwanted":        "Complains about the texts (es):",
}

// classes are the word classes patterns use as @name, in key form.
var classes = map[string][]string{
	// English.
	"kw":   {"stop", "stopall", "unsubscribe", "unsub", "optout", "revoke", "discontinue"},
	"pol":  {"please", "pls", "plz", "plse", "just", "now", "thanks", "thx", "ty", "ok", "okay", "it", "already", "immediately", "asap", "right", "seriously", "omg", "all", "ffs", "again", "yes", "yeah", "sir", "maam", "guys", "man", "dude", "bro", "then", "kindly", "no", "and", "thank", "you", "u"},
	"stop": {"stop", "stp", "stopp", "quit", "cease", "desist", "discontinue"},
	"adv":  {"just", "already", "please", "pls", "plz", "ever", "even", "all", "you", "u", "ya", "immediately", "now"},
	// Verbs of contact after "stop": "stop texting me".
	"cv": {"texting", "text", "txting", "txt", "textin", "txtin", "txtn", "texing", "messaging", "message", "messageing", "msging", "msg", "msgn",
		"contacting", "contact", "calling", "call", "sending", "send", "emailing", "email", "spamming", "spam",
		"bothering", "bother", "bugging", "harassing", "harass", "pestering", "hounding"},
	// Verbs that reach a person: "stop messaging my husband".
	"cvp": {"texting", "txting", "textin", "messaging", "msging", "contacting", "calling", "spamming", "bothering", "harassing", "bugging", "emailing"},
	// Verbs after "don't": "don't text me".
	"cvd":  {"text", "txt", "message", "msg", "contact", "email", "sms", "spam", "bother", "harass", "texting", "messaging", "contacting"},
	"recv": {"receive", "receiving", "recieve", "recieving", "get", "getting", "see", "have"},
	// Determiners and quantities before the texts: "any more of these".
	"q": {"the", "these", "those", "this", "that", "all", "any", "anymore", "more", "further", "other", "additional", "your", "ur", "yr", "of", "such", "some", "every", "my", "our", "those", "them", "ya", "yalls"},
	// Words that say which texts: "appointment reminder texts".
	"m": {"text", "txt", "sms", "marketing", "promotional", "promo", "promotion", "automated", "auto", "reminder", "appointment", "sales", "advertising",
		"spam", "annoying", "stupid", "daily", "weekly", "constant", "random", "junk", "mass", "bulk", "group", "email", "e", "mail", "phone", "robo", "damn", "fucking", "f",
		"message", "notification", "update", "marketting", "ad"},
	// The texts, broadly: after "stop", "don't want", "cancel".
	"n": {"texts", "txts", "text", "messages", "msgs", "messeges", "sms", "mms", "reminders", "notifications", "alerts", "promos", "promotions", "ads", "advertisements", "adverts",
		"spam", "marketing", "emails", "calls", "robocalls", "offers", "deals", "coupons", "updates", "newsletters", "newsletter", "communications", "communication",
		"contact", "junk", "mailings", "solicitations", "textmessages"},
	// The texts, narrowly: after "no more" ("no more questions" is ordinary).
	"nn": {"texts", "txts", "messages", "msgs", "messeges", "sms", "reminders", "notifications", "alerts", "promos", "promotions", "ads", "spam", "marketing", "emails",
		"calls", "robocalls", "texting", "messaging", "contacting", "calling", "spamming", "contact", "junk", "mailings", "solicitations"},
	// Lists one asks to be taken off, and words naming them.
	"ln": {"list", "lists", "listing", "database", "system", "records", "contacts", "texts", "messages", "sms", "group", "chat", "thread", "newsletter", "newsletters",
		"subscription", "subscriptions", "alerts", "notifications", "reminders", "promotions", "promos", "marketing", "emails", "calls", "mailings", "registry"},
	"lm": {"mailing", "texting", "text", "txt", "sms", "contact", "email", "e", "mail", "call", "calling", "marketing", "promo", "promotional", "subscriber",
		"distribution", "customer", "client", "phone", "message", "messaging", "notification", "reminder", "your", "ur", "spam", "all"},
	"me":     {"me", "us", "myself"},
	"number": {"number", "phone", "cell", "line", "#", "num", "digits"},
	"mine":   {"my", "this", "our"},
	// Words that make "don't text me" about one message or a time: "don't
	// text me the code", "don't text me after 8pm".
	"dscope":    {"the", "a", "an", "before", "after", "when", "whenever", "while", "until", "til", "till", "during", "unless", "if", "once"},
	"timescope": {"before", "after", "during", "while", "when", "whenever"},
	"negw":      {"dont", "not", "never", "dnt", "doesnt", "longer"},
	"dneg":      {"dont", "not", "never", "dnt"},
	"pneg":      {"dont", "not", "never", "dnt", "didnt", "doesnt", "havent", "hasnt"},
	"said": {"said", "say", "saying", "replied", "reply", "replying", "texted", "typed", "sent", "wrote", "written", "told", "responded", "respond", "answered",
		"send", "text", "type", "txt", "txted"},
	"stopby":   {"by", "in", "over", "at", "on", "for", "the", "to", "off", "here", "there", "near", "sign", "light"},
	"newstart": {"who", "whos", "whose", "i", "im", "ive", "id", "idk", "you", "u", "youre", "ur", "wrong", "dont", "we", "thank", "thanks", "no", "not", "never", "why", "what", "leave", "remove", "take", "quit", "unsubscribe", "do", "lose", "go", "stop", "nobody"},
	"rm":       {"remove", "delete", "erase", "unlist", "purge"},
	"info":     {"number", "phone", "cell", "info", "information", "details", "data", "contact", "#", "num", "name", "email"},
	"pronoun":  {"me", "us", "him", "her", "them"},
	"obj":      {"this", "these", "those", "that", "it", "stuff", "crap", "junk", "things", "anything", "shit", "garbage", "nonsense", "bs"},
	"cv2":      {"texting", "txting", "textin", "messaging", "msging", "contacting", "calling", "sending", "spamming", "emailing", "bothering", "harassing", "bugging", "hitting"},
	"cvb":      {"text", "txt", "message", "msg", "contact", "call", "email", "send", "sms", "reach", "texting", "messaging", "contacting", "calling", "emailing"},
	"ed":       {"texted", "contacted", "messaged", "called", "emailed", "bothered", "spammed", "txted", "reached", "solicited"},
	"signup": {"sign", "signed", "subscribe", "subscribed", "opt", "opted", "ask", "asked", "agree", "agreed", "request", "requested", "register", "registered",
		"enroll", "enrolled", "consent", "consented", "authorize", "authorized"},
	"gave": {"gave", "give", "given", "put", "entered", "typed", "dialed", "dialled", "called", "texted", "wrote", "written", "used", "had", "listed", "provided",
		"input", "left", "sent", "messaged", "got"},

	// English negation (see isNegated).
	"en-neg":    {"dont", "not", "never", "dnt", "doesnt", "didnt", "cant", "cannot", "wont", "shouldnt", "wouldnt", "couldnt", "aint", "isnt", "arent", "wasnt", "werent", "havent", "hasnt"},
	"en-bridge": {"ever", "just", "really", "even", "please", "pls", "you", "u", "ya", "yall", "want", "wanna", "need", "to", "mean", "meant", "gonna", "going", "it", "they", "guys", "people", "all", "ask", "asking", "tell", "telling", "wish"},
	"en-you":    {"you", "u", "ya", "yall", "they", "we", "i"},
	"en-unless": {"why", "if", "whyd", "y"},
	"en-past":   {"did", "does", "whyd"},

	// Spanish.
	"es-kw":       {"baja", "alto", "basta", "stop", "parar", "pare", "paren", "detener", "detengan", "unsubscribe"},
	"es-pol":      {"por", "favor", "porfa", "porfavor", "gracias", "ya", "ahora", "ok", "pls", "please", "solo", "mil", "muchas", "ahorita", "inmediatamente", "urgente", "y", "todo", "todos"},
	"es-stop":     {"dejen", "deja", "deje", "dejar", "paren", "para", "pare", "parar", "dejes"},
	"es-subj":     {"envien", "envies", "envie", "manden", "mandes", "mande", "escriban", "escribas", "escriba", "contacten", "contactes", "contacte", "llamen", "llames", "llame", "molesten", "molestes", "moleste", "texteen", "textees", "textee"},
	"es-inf":      {"enviar", "mandar", "escribir", "contactar", "llamar", "molestar", "textear", "enviarme", "mandarme", "escribirme", "contactarme", "llamarme", "molestarme", "textearme", "enviarnos", "mandarnos", "escribirnos", "contactarnos", "llamarnos", "molestarnos"},
	"es-me-inf":   {"enviarme", "mandarme", "escribirme", "contactarme", "llamarme", "molestarme", "textearme", "enviarnos", "mandarnos", "escribirnos", "contactarnos", "llamarnos", "molestarnos", "escribir", "molestar", "contactar", "textear", "llamar"},
	"es-send-inf": {"enviar", "mandar"},
	"es-n": {"mensajes", "mensajitos", "textos", "sms", "msjs", "msj", "notificaciones", "recordatorios", "promociones", "promos", "ofertas", "anuncios", "publicidad", "correos",
		"llamadas", "alertas", "mensajes", "whatsapps", "avisos", "spam"},
	"es-q":      {"mas", "sus", "tus", "los", "las", "estos", "estas", "esos", "esas", "ningun", "ninguno", "su", "tu", "el", "la", "ese", "este", "otros", "otro", "mis", "de", "todos", "nada", "tipo", "sus"},
	"es-recv":   {"recibir", "recibiendo", "tener", "ver", "seguir"},
	"es-ln":     {"lista", "listas", "base", "sistema", "contactos", "registro", "registros", "agenda", "grupo", "mensajes", "envios", "difusion", "directorio"},
	"es-lnmod":  {"contactos", "mensajes", "envios", "difusion", "texto", "textos", "correo", "correos", "datos", "clientes", "promociones", "suscriptores", "sms"},
	"es-rmme":   {"borrenme", "borrame", "borreme", "sacame", "saquenme", "saqueme", "quitenme", "quitame", "quiteme", "eliminenme", "eliminame", "elimineme", "borrarme", "sacarme", "quitarme", "eliminarme", "borranos", "sacanos", "quitennos", "sacarnos", "quitarnos", "borrarnos", "eliminarnos"},
	"es-rm":     {"borren", "eliminen", "borra", "borre", "borrar", "elimina", "elimine", "eliminar", "quiten", "saquen", "quitar", "sacar"},
	"es-mine":   {"mi", "este", "nuestro", "el"},
	"es-number": {"numero", "telefono", "celular", "contacto", "cel", "tel", "num"},
	"es-wrong":  {"equivocado", "equivocada", "incorrecto", "incorrecta", "errado", "errada", "erroneo", "equivocados"},

	// Spanish negation.
	"es-neg":    {"no", "nunca", "jamas", "ni", "tampoco"},
	"es-bridge": {"me", "nos", "te", "le", "les", "lo", "la", "los", "las", "se", "que", "quiero", "queremos", "por", "favor", "porfa", "ustedes", "usted", "tu"},
	"es-you":    {"ustedes", "usted", "tu", "me", "nos"},
	"es-unless": {"si", "porque", "porqu"},
	"es-past":   {},
}

// englishRules, in order of precedence at one word.
var englishRules = []ruleDef{
	{"keyword-clause", "Stop please", "^ @pol*3 @kw @kw|@pol*6 $"},
	{"keyword-clause", "STOP who is this", "^ @kw @pol*2 @newstart"},
	{"keyword-clause", "idk who this is stop", "this|is|you|u|anymore|spam|me|already|please|pls @kw @pol*2 $"},
	{"keyword-clause", "I revoke", "^ i|we @adv? @kw @pol*2 $"},
	{"keyword-clause", "quit it", "^ @pol*2 quit|cease it @pol*2 $"},
	{"keyword-clause", "Remove", "^ @pol*2 remove|delete|unsubscribe|unsub @pol*2 $"},
	{"keyword-clause", "if you don't stop", "if you|u|yall|ya dont|wont|dnt stop @pol*2 $"},
	{"keyword-clause", "I said stop", "@said @q? @kw !@stopby"},
	{"keyword-clause", "what part of stop don't you understand", "part of @kw"},
	{"keyword-clause", "STOP means STOP", "@kw means @kw"},

	{"stop-contacting", "stop texting me", "@stop @adv? @cv and|or|n|nd? @cv? @me !@timescope"},
	{"stop-contacting", "stop texting this number", "@stop @adv? @cv and|or|n? @cv? @mine|the|that @number"},
	{"stop-contacting", "stop messaging my husband", "@stop @adv? @cvp my|his|her|our _"},
	{"stop-contacting", "please stop texting", "@stop @adv? @cv and|or|n? @cv? $"},
	{"stop-contacting", "stop sending me these messages", "@stop @adv? sending|send|texting|messaging|txting @pronoun? @q*3 @m*2 @n"},
	{"stop-contacting", "stop sending me this crap", "@stop @adv? sending|send @pronoun? @obj"},
	{"stop-contacting", "stop these texts", "@stop @adv? @q*3 @m*2 @n"},
	{"stop-contacting", "stop with the texts", "@stop with|w @q*3 @m*2 @n"},
	{"stop-contacting", "stop reaching out to me", "@stop @adv? reaching|reach out to @me|this|my"},
	{"stop-contacting", "please stop reaching out", "@stop @adv? reaching|reach out @pol*2 $"},
	{"stop-contacting", "stop texting it", "@stop @adv? @cv it|this|that @pol*2 $"},
	{"stop-contacting", "I'd appreciate it if you stopped texting me", "if|wish you|u|yall|ya would|could? stopped|quit|stop @cv and|or|n? @cv? @me"},
	{"stop-contacting", "stop adding me to group texts", "@stop adding|putting|including|signing @me up? to|in|on|for @q*3 @lm*2 @ln|@n"},
	{"stop-contacting", "stop blowing up my phone", "@stop blowing|blowin up my|me"},
	{"stop-contacting", "how can I stop getting these", "@stop @recv this|these|those|them|it $"},
	{"stop-contacting", "I want to stop receiving texts", "@stop @recv @q*3 @m*2 @n"},
	{"stop-contacting", "how do I make these texts stop", "make @q*3 @m*2 @n stop"},
	{"stop-contacting", "how do I get these messages to stop", "get @q*3 @m*2 @n to stop"},

	{"fcc-words", "I revoke my consent", "revoke|revoking|revoked|withdraw|withdrawing|withdrawn|rescind|rescinding|retract|retracting @q*2 consent|permission|authorization|agreement"},
	{"fcc-words", "I no longer consent", "@negw @adv? consent|consenting|consented @pol*2 $"},
	{"fcc-words", "I do not consent to these texts", "@negw @adv? consent|consenting|consented to|for @recv? being? @q*3 @m*2 @n|@ed|texting|messaging|contacting|calling|this|these|that|it"},
	{"fcc-words", "you do not have my permission to text me", "@pneg @adv? give|gave|given|have|has|had|grant|granted|giving you|u? my|our|any|the? permission|consent|authorization to|for @cvb|@ed|@m|@n"},
	{"fcc-words", "I want to opt out", "opt|opted|opting @me? out !of|from"},
	{"fcc-words", "opt me out of texts", "opt|opted|opting @me? out of|from @q*3 @m*2 @n|@ln"},
	{"fcc-words", "opt this number out", "opt|opted @mine @info out"},
	{"fcc-words", "how do I opt out of this", "opt|opted|opting @me? out of|from this|these|it|them|everything|all|that|anything $"},
	{"fcc-words", "how do I unsubscribe", "unsubscribe|unsubscribed|unsubscribing|unsub|unsubbed|optout|stopall|unsuscribe|unsubcribe|unsubscibe"},
	{"fcc-words", "unenroll me", "unenroll|unenrol|unregister|deregister @me? $"},
	{"fcc-words", "unenroll me from texts", "unenroll|unenrol|unregister|deregister @me? from @q*3 @lm*2 @n|@ln"},
	{"fcc-words", "cancel my text subscription", "cancel|cancelling|canceling|cancell @q*3 @m*2 @n|subscription|subscriptions"},
	{"fcc-words", "end all messages", "end|ending all|the|these|those|your|ur|my|this|any? @m*2 @n"},

	{"negated-want", "I don't want any more messages", "@negw @adv? want|wanna|wish|need|needs|wants|like to? @recv? @q*3 @m*2 @n"},
	{"negated-want", "I don't want to be contacted", "@negw @adv? want|wanna|wish|like|wants to? be|being|get|getting @ed"},
	{"negated-want", "I don't want to receive these anymore", "@negw @adv? want|wanna|wish|need to? @recv these|them|those|anything|em|any anymore|again|more|@pol*2 $"},
	{"negated-want", "I don't want to be on your list", "@negw @adv? want|wanna|wish|need|like to? be|stay on|in @q*3 @lm*2 @ln"},
	{"negated-want", "I'd rather not get these texts", "rather|prefer not|no to? @recv? @q*3 @m*2 @n"},
	{"negated-want", "I don't want to hear from you again", "@negw @adv? want|wanna|wish|need to? hear from you|u|ya|yall|your|ur"},

	{"not-consented", "I never gave you this number", "@pneg @adv? give|gave|given you|u|yall @mine|my @number"},
	{"not-consented", "I didn't sign up for text alerts", "@pneg @adv? @signup up|in? for|to|into @recv? @q*3 @m*2 @n"},
	{"not-consented", "I never signed up for this", "@pneg @adv? @signup up|in? for|to|into this|that|it|these|those|anything|them $"},

	{"not-interested", "not interested", "not|longer|nt|uninterested interested !in"},
	{"not-interested", "not interested in these texts", "not|longer|nt interested in @q*3 @m*2 @n"},
	{"not-interested", "not interested in your services", "not|longer|nt interested in your|ur|yalls|any|the? services|business|company|products|offers|anything|it|this|that|them|you|u anymore|@pol*2 $"},

	{"no-more", "no more texts", "no @adv? more|further @q*2 @m*2 @nn"},
	{"no-more", "No texts please", "^ @pol*2 no @m*2 @nn @pol*3 $"},

	{"dont-contact", "don't text me", "@dneg @adv*2 @cvd @me !@dscope"},
	{"dont-contact", "do not text", "@dneg @adv*2 @cvd $"},
	{"dont-contact", "Do not text this number", "@dneg @adv*2 @cvd|call|calling @mine @number"},
	{"dont-contact", "don't call or text me", "@dneg @adv*2 call|phone|email|text|txt|message|contact or|and|nor|n|nd @adv? @cvd|call|email"},
	{"dont-contact", "don't reach out again", "@dneg @adv*2 reach out"},
	{"dont-contact", "don't send me any more texts", "@dneg @adv*2 send|sent @pronoun? @q*3 @m*2 @n"},

	{"remove-me", "remove me", "@rm @adv? @me !from|off|for|at|to|in|on|as"},
	{"remove-me", "remove me from your list", "@rm @adv? @me from|off|of @q*3 @lm*2 @ln"},
	{"remove-me", "remove from list", "@rm|take from|off @q*3 @lm*2 @ln"},
	{"remove-me", "remove me from this", "@rm @adv? @me from|off|of this|it|that|these|everything|here|all|there $"},
	{"remove-me", "delete my number", "@rm @adv? @mine @info"},
	{"remove-me", "take me off your list", "take|get|keep|pull|scratch @me off|out|outta of? @q*3 @lm*2 @ln"},
	{"remove-me", "take me off", "take|get|scratch @me off|out|outta @pol*2 $"},
	{"remove-me", "take my number off your list", "take|get|keep|pull @mine @info off|out|outta of? @q*3 @lm*2 @ln"},
	{"remove-me", "take this number off", "take|get|pull @mine @info off @pol*2 $"},
	{"remove-me", "I want off this list", "want|wanna|need|like|be|stay|get|go off|out of? @q*3 @lm*2 @ln"},
	{"remove-me", "put me on your do not call list", "do|dont not|no? call|text|txt|contact|sms|email|mail|texting|calling|contacting list|lists|registry|register"},
	{"remove-me", "I want to be removed", "be|been|get|being removed|deleted|unsubscribed|erased|dropped $"},
	{"remove-me", "I'd like to be removed from your list", "be|been|get|being removed|deleted|unsubscribed|erased|dropped|taken from|off @q*3 @lm*2 @ln"},

	{"leave-alone", "leave me alone", "leave|leav|let @me _*3 alone"},
	{"leave-alone", "leave my family alone", "leave|leav|let my|our family|wife|husband|kids|phone|number|mom|dad|son|daughter|parents|mother|father alone"},
	{"leave-alone", "lose my number", "lose|forget|trash|erase|burn|loose @mine @number"},
	{"leave-alone", "go away", "^ @pol*2 go away @pol*2 $"},

	{"fed-up", "I'm sick of these texts", "done|sick|tired|fed|enough|over up? with|of @recv? @q*3 @m*2 @n"},
	{"fed-up", "Enough texts", "^ enough @q*2 @m*2 @n"},

	{"wrong-number", "wrong number", "wrong|incorrect|incorect|wrng number|#|num|numbr !of"},
	{"wrong-number", "you have the wrong person", "wrong|incorrect person|persons|guy|girl|lady|contact @pol*2 $"},
	{"wrong-number", "This number belongs to someone else", "this|that @number now? belongs|belonged"},
	{"wrong-number", "This is no longer Maria's number", "this|that|it is? no? not|isnt|longer _ number|phone|cell|#"},
	{"wrong-number", "Tom doesn't have this number anymore", "@pneg|longer have|has|use|uses|own|owns this @number"},
	{"wrong-number", "no one by that name here", "no|nobody one? by|named|called that|this name"},

	{"unwanted", "why do you keep texting me", "why|y _*3 keep|still @cv2 me|us|this|my"},
	{"unwanted", "why do I keep getting these texts", "why|y _*3 keep? getting|receiving|recieving|get @q*2 @m*2 @n"},
	{"unwanted", "I keep getting these texts", "i|we|im|were|iam|am _? keep|still getting|receiving|recieving|get @q*2 @m*2 @n"},
	{"unwanted", "you keep texting me", "you|u|yall|ya keep|kept|still @cv2 me|us"},
	{"unwanted", "why are you texting me", "why|y _*2 texting|txting|textin|messaging|msging|contacting|spamming|bothering|harassing|bugging me|us"},
	{"unwanted", "I'm blocking this number", "blocking|block|reporting|report @mine|your|ur|the @number"},
	{"unwanted", "I'll report you for spam", "reporting|report|block|blocking you|u|yall|this|your|ur @number? for|as spam|spamming|harassment|harassing"},
	{"unwanted", "This is spam", "^ this|that|its|it is? spam|harassment|harrassment @pol*2 $"},
	{"unwanted", "I'm going to block you", "blocking|block|reporting|report you|u|yall|ya|ur|your @pol*2 $"},
}

// englishGuards are ordinary phrases whose words start no rule.
var englishGuards = []ruleDef{
	{"", "I gave you the wrong number", "i|we|ive|id|weve|iv @adv? @gave down? you|u|yall? the|a|my|an|our? wrong|incorrect|old number|#|phone|cell"},
	{"", "you gave me the wrong number", "gave|give|sent|told me|us the|a wrong|incorrect number|#|phone"},
	{"", "I got no more texts after Monday", "got|get|received|receive|getting|had|have|saw|seen|see no @adv? more|further? @q*2 @m*2 @nn"},
}

// spanishRules, in order of precedence at one word.
var spanishRules = []ruleDef{
	{"es-keyword-clause", "BAJA por favor", "^ @es-pol*3 @es-kw @es-kw|@es-pol*4 $"},

	{"es-dont-contact", "no me envíen más mensajes", "no|nunca|jamas me|nos @es-subj ni|o|y? me|nos? @es-subj? @es-q*3 @es-n"},
	{"es-dont-contact", "no me escriban más", "no|nunca|jamas me|nos @es-subj ni|o|y? me|nos? @es-subj? mas|nunca|nada|jamas|otra|ningun"},
	{"es-dont-contact", "no me llamen ni me escriban", "no|nunca|jamas me|nos @es-subj ni|o|y? me|nos? @es-subj? @es-pol*3 $"},
	{"es-dont-contact", "no me vuelvan a escribir", "no|nunca|jamas me|nos vuelvan|vuelva|vuelvas a @es-inf"},

	{"es-stop-contacting", "dejen de escribirme", "@es-stop ya? de @es-me-inf"},
	{"es-stop-contacting", "dejen de mandar mensajes", "@es-stop ya? de @es-send-inf @es-q*3 @es-n"},
	{"es-unwanted", "no dejan de escribirme", "no dejan|paran|dejas|paras de @es-me-inf|@es-send-inf"},

	{"es-negated-want", "ya no quiero recibir mensajes", "no|nunca|jamas|tampoco quiero|queremos|deseo|deseamos|quiere|necesito|necesitamos @es-recv? @es-q*3 @es-n"},
	{"es-negated-want", "no quiero que me escriban", "no|nunca quiero|queremos|deseo|deseamos que me|nos @es-subj"},
	{"es-negated-want", "no quiero que me sigan escribiendo", "no|nunca quiero|queremos|deseo|deseamos que me|nos sigan|sigas escribiendo|mandando|enviando|llamando|contactando|molestando"},

	{"es-remove-me", "bórrenme de su lista", "@es-rmme de|del @es-q*2 @es-ln !de"},
	{"es-remove-me", "sáquenme de su lista de contactos", "@es-rmme de|del @es-q*2 @es-ln de @es-lnmod"},
	{"es-remove-me", "me pueden quitar de su lista", "me|nos pueden|puede|podrian|podria quitar|sacar|borrar|eliminar de|del @es-q*2 @es-ln !de"},
	{"es-remove-me", "bórrenme", "@es-rmme @es-pol*3 $"},
	{"es-remove-me", "quiero que me quiten de su lista", "que me|nos quiten|saquen|borren|eliminen de|del @es-q*2 @es-ln !de"},
	{"es-remove-me", "eliminen mi número", "@es-rm @es-mine @es-number"},

	{"es-fcc-words", "quiero darme de baja", "dar|darme|darnos|doy|den|denme|dame|darle @es-q? de baja"},
	{"es-fcc-words", "cancelar suscripción", "cancelar|cancelen|cancela|cancele|cancelo|anular|anulen @es-q*2 suscripcion|suscripciones|@es-n"},
	{"es-fcc-words", "revoco mi consentimiento", "revoco|retiro|revocar|retirar|revocamos|retiramos @es-q? mi|nuestro? consentimiento|autorizacion|permiso"},

	{"es-no-more", "no más mensajes", "no|ningun|ninguno mas @es-q*2 @es-n"},
	{"es-no-more", "basta de mensajes", "basta|suficiente ya? de @es-q*2 @es-n"},

	{"es-leave-alone", "déjenme en paz", "dejenme|dejame|dejeme|dejanos|dejennos|dejenos|dejarme en paz"},

	{"es-wrong-number", "número equivocado", "numero|telefono|celular|persona|num @es-wrong"},
	{"es-wrong-number", "se equivocó de número", "equivoco|equivocaron|equivocado|equivocada|equivocados|equivocan|equivocas|equivocaste|equivocaron de numero|persona|telefono"},

	{"es-not-interested", "no me interesa", "no me|nos interesa|interesan @es-pol*3 $"},
	{"es-not-interested", "no estoy interesado", "no estoy|estamos interesado|interesada|interesados|interesadas @es-pol*3 $"},

	{"es-not-consented", "nunca me suscribí", "nunca|no|jamas me|nos suscribi|inscribi|registre|anote|apunte|suscribimos"},
	{"es-not-consented", "yo no pedí estos mensajes", "no|nunca|jamas pedi|solicite|autorice|acepte|pedimos @es-q*2 @es-n|esto|eso"},
	{"es-not-consented", "nunca di permiso", "no|nunca|jamas di|dimos|he|hemos dado? @es-q? permiso|consentimiento|autorizacion"},
}

// spanishGuards are ordinary Spanish phrases whose words start no rule.
var spanishGuards = []ruleDef{
	{"", "me dio el número equivocado", "di|dio|dieron|puse|anote|marque|escribi|dimos|pusimos|diste @es-q? numero|telefono @es-wrong"},
}

// negationSets are a language's word sets for isNegated.
type negationSets struct {
	negation, bridge, you, unless, past setMask
}

// The compiled rules, guards, lexicon and negation sets.
var (
	rules       []rule
	guards      []rule
	lexicon     map[string]*lexEntry
	unknownWord *lexEntry // a word no rule names
	negation    [2]negationSets
)

func init() {
	c := newCompiler(classes)
	compileAll := func(defs []ruleDef, lang language) []rule {
		var out []rule
		for _, d := range defs {
			r, err := c.compile(d, lang)
			if err != nil {
				panic(fmt.Sprintf("optout: revocation rule %q: %v", d.id, err))
			}
			out = append(out, r)
		}
		return out
	}
	rules = append(compileAll(englishRules, english), compileAll(spanishRules, spanish)...)
	guards = append(compileAll(englishGuards, english), compileAll(spanishGuards, spanish)...)
	mustSet := func(name string) setMask {
		if len(classes[name]) == 0 {
			return setMask{}
		}
		b, err := c.set("@" + name)
		if err != nil {
			panic(fmt.Sprintf("optout: revocation class %q: %v", name, err))
		}
		return b
	}
	for lang, prefix := range map[language]string{english: "en-", spanish: "es-"} {
		negation[lang] = negationSets{
			negation: mustSet(prefix + "neg"),
			bridge:   mustSet(prefix + "bridge"),
			you:      mustSet(prefix + "you"),
			unless:   mustSet(prefix + "unless"),
			past:     mustSet(prefix + "past"),
		}
	}
	lexicon = make(map[string]*lexEntry, len(c.lexicon))
	for key, class := range c.lexicon {
		lexicon[key] = &lexEntry{class: class, rules: startingWith(rules, &class), guards: startingWith(guards, &class)}
	}
	unknownWord = &lexEntry{rules: startingWith(rules, &setMask{}), guards: startingWith(guards, &setMask{})}
}
