package daemon

import "fmt"

// ConfigError is a Config setting that Serve (or Config.Validate) refuses.
// Field is the Config field's name ("TLSClientCA", "Pool.KillGrace"), so
// that a program with its own flags can name its flag instead;
// cmd/internal/daemoncmd does.
type ConfigError struct {
	// Field is the offending Config field.
	Field string
	// Problem says what is wrong, without the field's name.
	Problem string
	// Err is an underlying error (reading a file), or nil.
	Err error
}

func (e *ConfigError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("daemon config %s: %s: %v", e.Field, e.Problem, e.Err)
	}
	return fmt.Sprintf("daemon config %s: %s", e.Field, e.Problem)
}

// Unwrap returns Err.
func (e *ConfigError) Unwrap() error { return e.Err }

func configErr(field, format string, args ...any) *ConfigError {
	return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
