package outcomes

// MayWriteRecords reports whether a user may write records: an admin or
// one who sees every conversation. A record may raise suggestions on any
// conversation it is linked to, and any user can mint an API token, so
// the rule is the user's, not how they signed in.
func MayWriteRecords(admin, viewAll bool) bool { return admin || viewAll }
