package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads, expands, strictly decodes, defaults and validates a config file.
// On any problem it returns Errors naming each line and key at fault.
func Load(path string) (*Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, Errors{{File: path, Msg: "cannot read config file: " + err.Error()}}
	}
	return parse(path, raw, os.LookupEnv)
}

func parse(file string, raw []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	data, errs := expandEnv(file, raw, lookupEnv)
	if len(errs) > 0 {
		return nil, errs
	}
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, yamlErrors(file, err, nil)
	}
	idx := indexKeys(&root)

	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, yamlErrors(file, err, idx)
	}
	cfg.resolvePaths(filepath.Dir(file))
	cfg.applyDefaults()
	if errs := cfg.validate(); len(errs) > 0 {
		for i := range errs {
			errs[i].File = file
			errs[i].Line = idx.lineOf(errs[i].Key)
		}
		return nil, errs
	}
	return cfg, nil
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// expandEnv replaces ${VAR} from the environment, line by line so that line
// numbers in later errors stay true. Comment lines are left alone.
func expandEnv(file string, raw []byte, lookupEnv func(string) (string, bool)) ([]byte, Errors) {
	var errs Errors
	lines := strings.Split(string(raw), "\n")
	for i, line := range lines {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		lines[i] = envRef.ReplaceAllStringFunc(line, func(ref string) string {
			name := envRef.FindStringSubmatch(ref)[1]
			v, ok := lookupEnv(name)
			switch {
			case !ok:
				errs = append(errs, Error{File: file, Line: i + 1, Msg: fmt.Sprintf("environment variable %s is not set", name)})
			case strings.ContainsAny(v, "\r\n"):
				errs = append(errs, Error{File: file, Line: i + 1, Msg: fmt.Sprintf("environment variable %s holds a newline", name)})
			}
			return v
		})
	}
	return []byte(strings.Join(lines, "\n")), errs
}

var (
	yamlLine     = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)
	unknownField = regexp.MustCompile(`^field (\S+) not found in type \S+$`)
)

// yamlErrors turns yaml.v3's "line N: ..." messages into Errors with keys.
func yamlErrors(file string, err error, idx *keyIndex) Errors {
	var msgs []string
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{err.Error()}
	}
	out := make(Errors, 0, len(msgs))
	for _, m := range msgs {
		e := Error{File: file, Msg: Scrub(m)}
		if sm := yamlLine.FindStringSubmatch(m); sm != nil {
			e.Line, _ = strconv.Atoi(sm[1])
			e.Msg = Scrub(sm[2])
			if idx != nil {
				e.Key = idx.keyAt[e.Line]
			}
			if fm := unknownField.FindStringSubmatch(sm[2]); fm != nil {
				e.Msg = fmt.Sprintf("unknown key %q", fm[1])
			}
		}
		out = append(out, e)
	}
	return out
}

// keyIndex maps key paths (replicas[1].dsn) to lines and back.
type keyIndex struct {
	lineOfKey map[string]int
	keyAt     map[int]string
}

func indexKeys(root *yaml.Node) *keyIndex {
	idx := &keyIndex{lineOfKey: map[string]int{}, keyAt: map[int]string{}}
	var walk func(n *yaml.Node, path string)
	record := func(path string, line int) {
		idx.lineOfKey[path] = line
		if cur, ok := idx.keyAt[line]; !ok || len(path) > len(cur) {
			idx.keyAt[line] = path
		}
	}
	walk = func(n *yaml.Node, path string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, path)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if path != "" {
					k = path + "." + k
				}
				record(k, n.Content[i].Line)
				walk(n.Content[i+1], k)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				p := fmt.Sprintf("%s[%d]", path, i)
				record(p, c.Line)
				walk(c, p)
			}
		}
	}
	walk(root, "")
	return idx
}

// lineOf finds a key's line, or its nearest parent's when the key is missing.
func (idx *keyIndex) lineOf(path string) int {
	for path != "" {
		if l, ok := idx.lineOfKey[path]; ok {
			return l
		}
		cut := strings.LastIndexAny(path, ".[")
		if cut < 0 {
			break
		}
		path = path[:cut]
	}
	return 0
}

func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	if c.Primary != nil {
		abs(&c.Primary.PasswordFile)
	}
	for i := range c.Replicas {
		abs(&c.Replicas[i].PasswordFile)
	}
	for i := range c.OCSP.Issuers {
		abs(&c.OCSP.Issuers[i])
	}
	for i := range c.OCSP.Sources {
		abs(&c.OCSP.Sources[i].PasswordFile)
		abs(&c.OCSP.Sources[i].Path)
		abs(&c.OCSP.Sources[i].PublicKey)
	}
	c.CRL.resolvePaths(abs)
}
