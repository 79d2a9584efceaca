package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strings"

	"github.com/parleyhq/parley/conversations"
	"github.com/parleyhq/parley/gateway/bandwidth"
	"github.com/parleyhq/parley/gateway/bandwidth/bandwidthtest"
	"github.com/parleyhq/parley/gateway/bird"
	"github.com/parleyhq/parley/gateway/bird/birdtest"
	"github.com/parleyhq/parley/gateway/carrier/carriertest"
	"github.com/parleyhq/parley/gateway/plivo/plivotest"
	"github.com/parleyhq/parley/gateway/telnyx/telnyxtest"
	"github.com/parleyhq/parley/gateway/vonage"
	"github.com/parleyhq/parley/gateway/vonage/vonagetest"
)

// benchCarrier is a carrier other than Twilio as `parley bench --carrier`
// drives it: its fake (the phones and its API), the channel the fake's
// account makes, and how a phone texts the business number. Each run
// makes an account of its own, so runs on one database never share one.
type benchCarrier struct {
	api     http.Handler
	channel conversations.Channel
	send    func(context.Context, carriertest.Inbound) (int, error)
	// connected points the fake at the channel's webhook URLs, for a
	// carrier whose account is set up with them (Bandwidth).
	connected func(inbound, status string)
	close     func()
}

// benchCarriers are the carriers `parley bench --carrier` speaks besides
// Twilio.
var benchCarriers = map[string]func(business, parleyURL, publicURL string, client *http.Client) *benchCarrier{
	conversations.CarrierTelnyx:    benchTelnyx,
	conversations.CarrierPlivo:     benchPlivo,
	conversations.CarrierBandwidth: benchBandwidth,
	conversations.CarrierVonage:    benchVonage,
	conversations.CarrierBird:      benchBird,
}

func benchTelnyx(business, parleyURL, publicURL string, client *http.Client) *benchCarrier {
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	profile, apiKey := carriertest.NewID(), "KEYbench"+token(24)
	f := telnyxtest.New(telnyxtest.Config{APIKey: apiKey, Profile: profile, Numbers: []string{business}, Key: key,
		ParleyURL: parleyURL, PublicURL: publicURL, HTTPClient: client})
	return &benchCarrier{api: f, send: f.SendInbound, close: f.Close, channel: conversations.Channel{Carrier: conversations.CarrierTelnyx,
		CarrierAccountID: profile, AuthToken: apiKey, WebhookSecret: f.PublicKey()}}
}

func benchPlivo(business, parleyURL, publicURL string, client *http.Client) *benchCarrier {
	authID, authToken := "MA"+strings.ToUpper(token(18)), token(32)
	f := plivotest.New(plivotest.Config{AuthID: authID, AuthToken: authToken, Numbers: []string{business},
		ParleyURL: parleyURL, PublicURL: publicURL, HTTPClient: client})
	return &benchCarrier{api: f, send: f.SendInbound, close: f.Close, channel: conversations.Channel{Carrier: conversations.CarrierPlivo,
		CarrierAccountID: authID, AuthToken: authToken}}
}

func benchBandwidth(business, parleyURL, publicURL string, client *http.Client) *benchCarrier {
	account, app, user, password, cbPassword := fmt.Sprint(9_000_000+mrand.IntN(999_999)), carriertest.NewID(), "bench-api", token(24), token(24)
	f := bandwidthtest.New(bandwidthtest.Config{AccountID: account, ApplicationID: app, APIUser: user, APIPassword: password,
		Numbers: []string{business}, CallbackUser: "parley", CallbackPassword: cbPassword, ParleyURL: parleyURL, PublicURL: publicURL, HTTPClient: client})
	return &benchCarrier{api: f, send: f.SendInbound, close: f.Close, connected: f.SetCallbackURLs,
		channel: conversations.Channel{Carrier: conversations.CarrierBandwidth, CarrierAccountID: account, AuthToken: password, WebhookSecret: cbPassword,
			Options: map[string]string{bandwidth.OptionApplicationID: app, bandwidth.OptionAPIUsername: user,
				bandwidth.OptionWebhookUsername: "parley", bandwidth.OptionWebhookToken: token(40)}}}
}

func benchVonage(business, parleyURL, publicURL string, client *http.Client) *benchCarrier {
	key, secret, sigSecret := token(8), token(16), token(32)
	f := vonagetest.New(vonagetest.Config{APIKey: key, APISecret: secret, SignatureSecret: sigSecret, Method: vonage.MethodSHA256,
		Numbers: []string{business}, ParleyURL: parleyURL, PublicURL: publicURL, HTTPClient: client})
	return &benchCarrier{api: f, send: f.SendInbound, close: f.Close, channel: conversations.Channel{Carrier: conversations.CarrierVonage,
		CarrierAccountID: key, AuthToken: secret, WebhookSecret: sigSecret, Options: map[string]string{vonage.OptionSignatureMethod: vonage.MethodSHA256}}}
}

func benchBird(business, parleyURL, publicURL string, client *http.Client) *benchCarrier {
	workspace, channel, key, signingKey := carriertest.NewID(), carriertest.NewID(), token(32), token(32)
	f := birdtest.New(birdtest.Config{AccessKey: key, Workspace: workspace, Channel: channel, Number: business, SigningKey: signingKey,
		ParleyURL: parleyURL, PublicURL: publicURL, HTTPClient: client})
	return &benchCarrier{api: f, send: f.SendInbound, close: f.Close, channel: conversations.Channel{Carrier: conversations.CarrierBird,
		CarrierAccountID: channel, AuthToken: key, WebhookSecret: signingKey, Options: map[string]string{bird.OptionWorkspaceID: workspace}}}
}

// token is n random letters and digits.
func token(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[mrand.IntN(len(alphabet))]
	}
	return string(b)
}
