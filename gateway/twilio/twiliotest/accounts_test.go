package twiliotest_test

import (
	"testing"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/parleyhq/parley/gateway/twilio/twiliotest"
)

// The fake tells who owns a number or service, as Parley asks when a
// channel is connected; AddAccount registers accounts and numbers while it
// runs.
func TestNumberOwnership(t *testing.T) {
	const (
		numberA  = "+14155550100"
		serviceA = "MGaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		unlisted = "+14155550177"
		accountC = "ACcccccccccccccccccccccccccccccccc"
		tokenC   = "tokenccccccccccccccccccccccccccc"
	)
	c, srv := startCarrier(t, twiliotest.Config{Owns: map[string][]string{accountA: {numberA, serviceA}}})
	owns := func(sid, token, number string) bool {
		t.Helper()
		p := &api.ListIncomingPhoneNumberParams{}
		p.SetPhoneNumber(number)
		list, err := twilioClient(t, srv.URL, sid, token).Api.ListIncomingPhoneNumber(p)
		if err != nil {
			t.Fatalf("IncomingPhoneNumbers as %s: %v", sid, err)
		}
		return len(list) == 1 && *list[0].PhoneNumber == number
	}
	service := func(sid, token, service string) error {
		t.Helper()
		_, err := twilioClient(t, srv.URL, sid, token).MessagingV1.FetchService(service)
		return err
	}

	if !owns(accountA, tokenA, numberA) || owns(accountB, tokenB, numberA) {
		t.Error("a listed number belongs to its account alone")
	}
	if owns(accountA, tokenA, unlisted) || !owns(accountB, tokenB, unlisted) {
		t.Error("an unlisted number belongs to the accounts that list none")
	}
	if service(accountA, tokenA, serviceA) != nil || service(accountB, tokenB, serviceA) == nil {
		t.Error("a listed service answers its account alone")
	}
	if service(accountA, "wrongtoken", serviceA) == nil {
		t.Error("a wrong token fetched a service")
	}

	c.AddAccount(accountC, tokenC, numberA)
	if !owns(accountC, tokenC, numberA) || owns(accountA, tokenA, numberA) {
		t.Error("AddAccount did not move the number to its new owner")
	}
	c.AddAccount(accountA, "rotatedtoken00000000000000000000")
	if service(accountA, tokenA, serviceA) == nil || service(accountA, "rotatedtoken00000000000000000000", serviceA) != nil {
		t.Error("AddAccount did not replace the account's token")
	}
}
