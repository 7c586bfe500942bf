package config

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Duration is a time.Duration written as "5s", "15m" or "1h30m" in YAML.
type Duration time.Duration

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reports a bad value as a yaml.TypeError so that the loader
// can attach the file, line and key.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil || v < 0 {
		return &yaml.TypeError{Errors: []string{
			fmt.Sprintf("line %d: invalid duration %q (want e.g. 5s, 15m, 1h30m)", n.Line, n.Value)}}
	}
	*d = Duration(v)
	return nil
}
