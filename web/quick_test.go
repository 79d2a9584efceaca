package web

import (
	"fmt"
	"strconv"
	"testing"

	"github.com/parleyhq/parley"
)

// Contacts picked one by one are read once each; more than
// maxPickedContacts is refused with a message, never cut silently.
func TestPickedContactsRefusesTooMany(t *testing.T) {
	ids, err := pickedContacts([]string{"3", "x", "3", "5", ""})
	if err != nil || fmt.Sprint(ids) != "[3 5]" {
		t.Fatalf("pickedContacts = %v, %v; want [3 5]", ids, err)
	}
	raw := make([]string, 0, maxPickedContacts+1)
	for i := 1; i <= maxPickedContacts; i++ {
		raw = append(raw, strconv.Itoa(i))
	}
	if ids, err := pickedContacts(append(raw, "1")); err != nil || len(ids) != maxPickedContacts {
		t.Fatalf("%d distinct contacts: %d, %v", maxPickedContacts, len(ids), err)
	}
	_, err = pickedContacts(append(raw, strconv.Itoa(maxPickedContacts+1)))
	if !parley.IsKind(err, parley.EINVALID) {
		t.Fatalf("%d contacts: err %v, want EINVALID", maxPickedContacts+1, err)
	}
}
