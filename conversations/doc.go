// Package conversations is Parley's core domain: accounts and their staff,
// inboxes and channels, contacts with several phones, one conversation per
// (channel, contact phone), messages, the conversation state machine and the
// inbound ingest pipeline.
//
// It defines the Store it needs; package store implements it. Rules that do
// not need I/O (the state machine, validation) are plain functions here so
// the store can apply them inside its transactions.
package conversations
