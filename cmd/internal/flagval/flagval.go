// Package flagval holds pflag values that check their input when the flag is
// parsed, so that a bad value is a usage error naming the flag (from the
// command line) or its environment variable (through package envflag),
// rather than a failure later on.
package flagval

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
)

// Duration is a time.Duration flag that refuses negative values. Its zero
// value means what the flag's help says (usually "none" or "never").
type Duration struct{ p *time.Duration }

// DurationVar defines a non-negative duration flag on fs.
func DurationVar(fs *pflag.FlagSet, p *time.Duration, name, shorthand string, value time.Duration, usage string) {
	*p = value
	fs.VarP(Duration{p}, name, shorthand, usage)
}

// String is the value in Go's notation; zero is "0", which help texts
// leave out as the flag's default.
func (d Duration) String() string {
	if d.p == nil || *d.p == 0 {
		return "0"
	}
	return d.p.String()
}

// Set parses a Go duration ("1m30s"); a bare "0" is accepted as zero.
func (d Duration) Set(s string) error {
	v, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a duration (use units, like 500ms, 30s, 5m, 1h)")
	}
	if v < 0 {
		return fmt.Errorf("negative duration %v", v)
	}
	*d.p = v
	return nil
}

// Type names the value in help texts.
func (Duration) Type() string { return "duration" }

// Int is an int flag with a lower bound.
type Int struct {
	p   *int
	min int
}

// IntVar defines an int flag on fs whose values must be at least min.
func IntVar(fs *pflag.FlagSet, p *int, name, shorthand string, value, min int, usage string) {
	*p = value
	fs.VarP(Int{p, min}, name, shorthand, usage)
}

func (i Int) String() string {
	if i.p == nil {
		return "0"
	}
	return strconv.Itoa(*i.p)
}

// Set parses a decimal integer of at least the minimum.
func (i Int) Set(s string) error {
	v, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return fmt.Errorf("not a whole number")
	}
	if v < i.min {
		return fmt.Errorf("%d is below the minimum %d", v, i.min)
	}
	*i.p = v
	return nil
}

// Type names the value in help texts.
func (Int) Type() string { return "int" }

// Enum is a string flag limited to a fixed set of words, compared without
// regard to case and stored in the case of the set.
type Enum struct {
	p     *string
	words []string
}

// EnumVar defines a flag on fs that takes one of words; value must be one of
// them.
func EnumVar(fs *pflag.FlagSet, p *string, name string, value string, words []string, usage string) {
	*p = value
	fs.Var(Enum{p, words}, name, usage)
}

func (e Enum) String() string {
	if e.p == nil {
		return ""
	}
	return *e.p
}

// Set accepts one of the words.
func (e Enum) Set(s string) error {
	for _, w := range e.words {
		if strings.EqualFold(strings.TrimSpace(s), w) {
			*e.p = w
			return nil
		}
	}
	return fmt.Errorf("must be one of %s", strings.Join(e.words, ", "))
}

// Type names the value in help texts: the words joined by "|".
func (e Enum) Type() string { return strings.Join(e.words, "|") }
