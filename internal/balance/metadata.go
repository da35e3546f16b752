package balance

import (
	"errors"
	"math"
	"regexp"
	"strconv"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// Node is what the conventions say about a node, read from its metadata.
type Node struct {
	// Load is engine.MetaLoad: >= 0, 0 when absent or not a valid load.
	Load float64
	// Weight is engine.MetaWeight: > 0, 1 when absent or not a valid
	// weight.
	Weight float64
	// Draining is true when engine.MetaStatus is engine.StatusDraining
	// (exactly: the comparison is case-sensitive).
	Draining bool
}

// Read returns what md says about its node. A value that does not parse
// (load "abc", weight "-1") counts as absent: it is never an error, since
// anyone allowed to register may write it.
func Read(md map[string]string) Node {
	n := Weigh(md)
	n.Load = LoadOf(md)
	return n
}

// Weigh returns what md says about its node but its load (Load is 0): what
// a Chooser needs of every node, while it compares the loads of two only
// (LoadOf).
func Weigh(md map[string]string) Node {
	n := Node{Weight: 1}
	if v, ok := md[engine.MetaWeight]; ok {
		if w, err := ParseWeight(v); err == nil {
			n.Weight = w
		}
	}
	n.Draining = md[engine.MetaStatus] == engine.StatusDraining
	return n
}

// LoadOf returns the load md holds: 0 when absent or not a valid load.
func LoadOf(md map[string]string) float64 {
	if v, ok := md[engine.MetaLoad]; ok {
		if load, err := ParseLoad(v); err == nil {
			return load
		}
	}
	return 0
}

// Errors of ParseLoad and ParseWeight.
var (
	errNotDecimal  = errors.New("not a decimal number")
	errNegative    = errors.New("negative")
	errNotPositive = errors.New("not positive")
)

// ParseLoad parses a load: a finite decimal number >= 0, such as "0",
// "3" or "12.5" (an exponent, "1e3", is accepted; hexadecimal, infinities
// and NaN are not).
func ParseLoad(s string) (float64, error) {
	v, err := parseDecimal(s)
	if err != nil {
		return 0, err
	}
	if v < 0 {
		return 0, errNegative
	}
	return v, nil
}

// ParseWeight parses a weight: a finite decimal number > 0, such as "1",
// "2" or "0.5".
func ParseWeight(s string) (float64, error) {
	v, err := parseDecimal(s)
	if err != nil {
		return 0, err
	}
	if v <= 0 {
		return 0, errNotPositive
	}
	return v, nil
}

// decimal is what a load or a weight looks like, for every reader of the
// conventions (zkresolver too): digits, optionally a point and more
// digits; no sign, exponent or bare point.
var decimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

// parseDecimal parses a decimal number (decimal) that a float64 holds.
func parseDecimal(s string) (float64, error) {
	if !decimal.MatchString(s) {
		return 0, errNotDecimal
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errNotDecimal
	}
	return v, nil
}
