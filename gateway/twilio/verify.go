package twilio

import (
	"context"
	"errors"
	"net/http"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
	messaging "github.com/twilio/twilio-go/rest/messaging/v1"

	"github.com/parleyhq/parley/conversations"
)

// numberPageSize bounds the IncomingPhoneNumbers page read: the list is
// filtered by the number, which Twilio matches in part, so a few others
// may come along.
const numberPageSize = 50

// VerifyChannel asks Twilio, with c's credentials, for c's number among
// the account's IncomingPhoneNumbers and for c's Messaging Service (see
// conversations.CarrierVerifier). Both calls go where every other does, so
// PARLEY_TWILIO_API_URL points them at a fake carrier too.
func (s *Sender) VerifyChannel(ctx context.Context, c conversations.Channel) error {
	callCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if c.PhoneNumber != "" {
		if err := s.verifyNumber(callCtx, c); err != nil {
			return err
		}
	}
	if c.MessagingServiceSID != "" {
		return s.verifyService(callCtx, c)
	}
	return nil
}

func (s *Sender) verifyNumber(ctx context.Context, c conversations.Channel) error {
	tc, call := s.client(ctx, c.CarrierAccountID, c.AuthToken)
	p := &api.ListIncomingPhoneNumberParams{}
	p.SetPathAccountSid(c.CarrierAccountID)
	p.SetPhoneNumber(c.PhoneNumber)
	p.SetPageSize(numberPageSize)
	page, err := api.NewApiServiceWithClient(tc).PageIncomingPhoneNumber(p, "", "")
	if err != nil {
		return verifyError(ctx, call.status, err, "phone_number")
	}
	for _, n := range page.IncomingPhoneNumbers {
		if deref(n.PhoneNumber) == c.PhoneNumber {
			return nil
		}
	}
	return conversations.NotOnCarrierAccount("phone_number")
}

func (s *Sender) verifyService(ctx context.Context, c conversations.Channel) error {
	tc, call := s.client(ctx, c.CarrierAccountID, c.AuthToken)
	svc, err := messaging.NewApiServiceWithClient(tc).FetchService(c.MessagingServiceSID)
	if err != nil {
		return verifyError(ctx, call.status, err, "messaging_service_sid")
	}
	if a := deref(svc.AccountSid); a != "" && a != c.CarrierAccountID {
		return conversations.NotOnCarrierAccount("messaging_service_sid")
	}
	return nil
}

// verifyError classifies a failed verification call: refused credentials
// (including those twilio-go refuses to send), a missing resource, or a
// carrier that could not be asked.
func verifyError(ctx context.Context, status int, err error, field string) error {
	var te *client.TwilioRestError
	if errors.As(err, &te) && te.Status != 0 {
		status = te.Status
	}
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden,
		te != nil && (te.Code == 21222 || te.Code == 21224): // credentials twilio-go will not send
		return conversations.CredentialsRejected()
	case status == http.StatusNotFound && field == "messaging_service_sid":
		return conversations.NotOnCarrierAccount(field)
	case status == http.StatusNotFound:
		// The account in the path is not the credentials' to read.
		return conversations.CredentialsRejected()
	case ctx.Err() != nil:
		return conversations.CarrierUnavailable("Twilio did not answer in time; nothing was stored, try again")
	case status != 0:
		return conversations.CarrierUnavailable("Twilio answered HTTP %d; nothing was stored, try again", status)
	}
	return conversations.CarrierUnavailable("Twilio could not be reached; nothing was stored, try again")
}
