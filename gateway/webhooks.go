package gateway

import (
	"net/http"
	"net/url"

	"github.com/rs/zerolog/hlog"

	"github.com/parleyhq/parley"
	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/twilio"
)

// handleTwilioInbound is the inbound message webhook. Order matters: the
// channel is found from the carrier's ids, the signature is checked with
// that channel's token over the raw form, and only then is anything parsed
// into the domain or stored.
func handleTwilioInbound(d *Deps) http.Handler {
	return apiFunc(func(w http.ResponseWriter, r *http.Request) error {
		form, err := twilio.ReadForm(r)
		if err != nil {
			return err
		}
		to, err := conversations.NormalizePhone(form.Get("To"))
		if err != nil && form.Get("MessagingServiceSid") == "" {
			return parley.Errorf(parley.ENOTFOUND, "no channel for this To number")
		}
		route, err := d.Store.FindInboundRoute(r.Context(), conversations.CarrierTwilio, form.Get("AccountSid"), to, form.Get("MessagingServiceSid"))
		if err != nil {
			if parley.IsKind(err, parley.ENOTFOUND) {
				return parley.Errorf(parley.ENOTFOUND, "no channel is connected for this AccountSid and To number or MessagingServiceSid")
			}
			return err
		}
		if !twilio.VerifySignature(route.Channel.AuthToken, d.PublicURL+r.URL.RequestURI(), form, r.Header.Get("X-Twilio-Signature")) {
			return forbidden("the X-Twilio-Signature header is missing or wrong")
		}
		in, err := twilio.ParseInbound(form)
		if err != nil {
			return err
		}
		res, err := d.Ingester.Ingest(r.Context(), route, conversations.InboundText{
			CarrierMessageID: in.MessageSid, From: in.From, To: in.To, Body: in.Body,
			MediaURLs: mediaURLs(in.Media), Segments: in.NumSegments,
		})
		if err != nil {
			return err
		}
		hlog.FromRequest(r).Debug().Stringer("conversation_id", res.Conversation.ID).Bool("duplicate", res.Duplicate).Msg("inbound text")
		if res.Duplicate {
			noteOutcome(r, "duplicate")
		}
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(twilio.EmptyTwiML))
		return nil
	})
}

func mediaURLs(media []twilio.Media) []string {
	urls := make([]string, len(media))
	for i, m := range media {
		urls[i] = m.URL
	}
	return urls
}

// handleTwilioStatus is the delivery status callback.
func handleTwilioStatus(d *Deps) http.Handler {
	return apiFunc(func(w http.ResponseWriter, r *http.Request) error {
		form, err := twilio.ReadForm(r)
		if err != nil {
			return err
		}
		chs, err := d.Store.StatusRoutes(r.Context(), conversations.CarrierTwilio, form.Get("AccountSid"))
		if err != nil {
			if parley.IsKind(err, parley.ENOTFOUND) {
				return parley.Errorf(parley.ENOTFOUND, "no channel is connected for this AccountSid")
			}
			return err
		}
		ch, ok := signedBy(chs, d.PublicURL+r.URL.RequestURI(), form, r.Header.Get("X-Twilio-Signature"))
		if !ok {
			return forbidden("the X-Twilio-Signature header is missing or wrong")
		}
		st, err := twilio.ParseStatus(form)
		if err != nil {
			return err
		}
		u := conversations.StatusUpdate{ChannelID: ch.ID, Carrier: conversations.CarrierTwilio, CarrierAccountID: st.AccountSid,
			CarrierMessageID: st.MessageSid, Status: conversations.MessageStatus(twilio.MessageStatus(st.MessageStatus)), At: d.Clock.Now()}
		if st.ErrorCode != 0 {
			u.ErrorCode = &st.ErrorCode
		}
		if _, err := d.Store.ApplyStatus(r.Context(), u); err != nil && !parley.IsKind(err, parley.ENOTFOUND) {
			return err
		} else if err != nil {
			// A text Parley did not send (or not yet recorded): nothing to
			// update, and Twilio must not retry.
			hlog.FromRequest(r).Info().Str("message_sid", st.MessageSid).Msg("status callback for an unknown message")
		}
		w.WriteHeader(http.StatusOK)
		return nil
	})
}

// signedBy returns the channel whose token signed a status callback. The
// store applies it only to a text sent with that token.
func signedBy(chs []conversations.Channel, signedURL string, form url.Values, signature string) (conversations.Channel, bool) {
	for _, ch := range chs {
		if twilio.VerifySignature(ch.AuthToken, signedURL, form, signature) {
			return ch, true
		}
	}
	return conversations.Channel{}, false
}
