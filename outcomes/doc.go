// Package outcomes is what conversations led to: the business records an
// account's CRM or billing system keeps (quotes, invoices, projects…),
// their links to conversations, the outcomes staff record on a thread
// (quote sent → accepted → invoice sent → paid), and the suggestions
// Parley raises when a linked record changes or a conversation is
// resolved. A suggestion never becomes an outcome by itself: only a
// person's accept does.
//
// The rules are here as pure functions (which record fits which outcome,
// which change raises which suggestion, what an amount is); the store
// applies them inside the transaction that makes the change, so a
// suggestion and its event commit with their cause or not at all.
package outcomes
