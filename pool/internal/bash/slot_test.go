//go:build linux

package bash

import (
	"regexp"
	"strconv"
	"testing"
)

// TestAnnouncementLength: a slot's announcement is announcementLen bytes,
// and session.bash reads announcements with `read -r -N announcementLen`.
func TestAnnouncementLength(t *testing.T) {
	m := regexp.MustCompile(`read -r -N ([0-9]+) __mt_l`).FindStringSubmatch(sessionProgram)
	if m == nil {
		t.Fatal("session.bash has no `read -r -N LEN __mt_l`")
	}
	if n, _ := strconv.Atoi(m[1]); n != announcementLen {
		t.Errorf("session.bash reads %d bytes, announcements are %d", n, announcementLen)
	}
	sl, err := newSlot(99999999)
	if err != nil {
		t.Fatal(err)
	}
	defer sl.close()
	if a := sl.announcement(); len(a) != announcementLen {
		t.Errorf("announcement %q is %d bytes, want %d", a, len(a), announcementLen)
	}
}

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"5.2.15(1)-release", "5.2", true},
		{"4.4.20(1)-release", "4.4", true},
		{"4.3.48(1)-release", "", false},
		{"3.2.57(1)-release", "", false},
	} {
		got, err := CheckVersion("/bin/bash", tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("CheckVersion(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
