package balance

import (
	"errors"
	"math"
	"strconv"
	"strings"

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
	n := Node{Weight: 1}
	if v, ok := md[engine.MetaLoad]; ok {
		if load, err := ParseLoad(v); err == nil {
			n.Load = load
		}
	}
	if v, ok := md[engine.MetaWeight]; ok {
		if w, err := ParseWeight(v); err == nil {
			n.Weight = w
		}
	}
	n.Draining = md[engine.MetaStatus] == engine.StatusDraining
	return n
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

// parseDecimal parses a finite decimal number.
func parseDecimal(s string) (float64, error) {
	t := strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	if t == "" || !(t[0] >= '0' && t[0] <= '9' || t[0] == '.') || strings.ContainsAny(t, "xXpP_") {
		return 0, errNotDecimal
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, errNotDecimal
	}
	return v, nil
}
