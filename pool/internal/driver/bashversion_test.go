package driver

import "testing"

func TestCheckBashVersion(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"5.2.15(1)-release", "5.2", true},
		{"4.4.20(1)-release", "4.4", true},
		{"4.3.48(1)-release", "", false},
		{"3.2.57(1)-release", "", false},
		{"garbage", "", false},
	} {
		v, err := CheckBashVersion("/bin/bash", tc.in)
		if v != tc.want || (err == nil) != tc.ok {
			t.Errorf("CheckBashVersion(%q) = %q, %v", tc.in, v, err)
		}
	}
}
