package twiliotest

import "net/http"

// apiPrefix is where Twilio's 2010-04-01 API keeps an account's resources.
const apiPrefix = "/2010-04-01/Accounts/{AccountSid}/"

// routes maps every path the fake serves: Twilio's REST API, which needs
// Basic auth and suffers Latency, and the /fake/ control API, which needs
// neither.
func (c *Carrier) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST "+apiPrefix+"Messages.json", c.restAPI(c.handleCreateMessage))
	mux.Handle("GET "+apiPrefix+"Messages.json", c.restAPI(c.handleListMessages))
	mux.Handle("GET "+apiPrefix+"Messages/{file}", c.restAPI(c.handleFetchMessage))
	mux.Handle("GET "+apiPrefix+"IncomingPhoneNumbers.json", c.restAPI(c.handleListIncomingNumbers))
	// Twilio Messaging lives on messaging.twilio.com; Parley sends it here too.
	mux.HandleFunc("GET /v1/Services/{Sid}", c.handleFetchService)
	mux.HandleFunc("GET /fake/messages", c.handleFakeMessages)
	mux.HandleFunc("DELETE /fake/messages", c.handleFakeReset)
	mux.HandleFunc("POST /fake/inbound", c.handleFakeInbound)
	mux.HandleFunc("/", handleNotFound)
	return mux
}
