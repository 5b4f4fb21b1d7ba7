// Package envflag gives flags environment variables: a flag the user did not
// give on the command line takes its value from PREFIX_NAME when that is set,
// so --min-idle reads MOTHREADS_MIN_IDLE. The command line always wins.
package envflag

import (
	"fmt"
	"strings"

	"github.com/spf13/pflag"
)

// annotation marks the flags that have a variable; its value is the name.
const annotation = "envflag/var"

// Name returns the variable of the flag called flag: prefix, an underscore,
// and the flag's name in upper case with "-" turned into "_"
// (Name("MOTHREADS", "min-idle") is "MOTHREADS_MIN_IDLE").
func Name(prefix, flag string) string {
	return prefix + "_" + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// Bind gives every flag of fs defined so far, except help and version, a
// variable named by Name, and adds "(env NAME)" to its help text. Call it
// after defining the flags and before parsing.
func Bind(fs *pflag.FlagSet, prefix string) {
	fs.VisitAll(func(f *pflag.Flag) {
		if f.Name == "help" || f.Name == "version" {
			return
		}
		name := Name(prefix, f.Name)
		if err := fs.SetAnnotation(f.Name, annotation, []string{name}); err != nil {
			panic(err) // the flag exists: VisitAll found it
		}
		f.Usage += " (env " + name + ")"
	})
}

// Apply sets each bound flag of fs that was not given on the command line
// from its variable, looked up with lookup (os.LookupEnv, or a map in
// tests). A variable set to the empty string counts as unset. The error
// names the variable, its value and the flag, for the first bad value.
//
// Trap: a flag whose value accumulates (a string array) gets the variable's
// value as one more element, not split.
func Apply(fs *pflag.FlagSet, lookup func(string) (string, bool)) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		names := f.Annotations[annotation]
		if err != nil || f.Changed || len(names) == 0 {
			return
		}
		v, ok := lookup(names[0])
		if !ok || v == "" {
			return
		}
		if serr := f.Value.Set(v); serr != nil {
			err = fmt.Errorf("invalid value %q in %s (for --%s): %v", v, names[0], f.Name, serr)
		}
	})
	return err
}
