package gendocs

import (
	"bytes"
	"fmt"
)

// beginMarker and endMarker delimit the generated block name in a Markdown
// document; source names what it is generated from.
func beginMarker(name, source string) string {
	return fmt.Sprintf("<!-- BEGIN GENERATED %s: made from %s by go generate; DO NOT EDIT -->", name, source)
}

func endMarker(name string) string {
	return fmt.Sprintf("<!-- END GENERATED %s -->", name)
}

// Splice returns doc with the lines between its markers of block name
// replaced by block. The document must hold each marker once, the begin
// marker first, each on a line of its own; the begin marker is rewritten
// whole, so that it names the source.
func Splice(doc []byte, name, source string, block []byte) ([]byte, error) {
	beginPrefix := []byte(fmt.Sprintf("<!-- BEGIN GENERATED %s:", name))
	end := []byte(endMarker(name))
	lines := bytes.SplitAfter(doc, []byte("\n"))
	bi, ei := -1, -1
	for i, line := range lines {
		l := bytes.TrimRight(line, "\r\n")
		switch {
		case bytes.HasPrefix(l, beginPrefix):
			if bi >= 0 {
				return nil, fmt.Errorf("two begin markers of block %q (lines %d and %d)", name, bi+1, i+1)
			}
			bi = i
		case bytes.Equal(l, end):
			if ei >= 0 {
				return nil, fmt.Errorf("two end markers of block %q (lines %d and %d)", name, ei+1, i+1)
			}
			ei = i
		}
	}
	switch {
	case bi < 0 || ei < 0:
		return nil, fmt.Errorf("no block %q: put the lines %s and %s where it goes", name, beginMarker(name, source), end)
	case ei < bi:
		return nil, fmt.Errorf("block %q ends (line %d) before it begins (line %d)", name, ei+1, bi+1)
	}
	var out bytes.Buffer
	for _, line := range lines[:bi] {
		out.Write(line)
	}
	out.WriteString(beginMarker(name, source) + "\n")
	out.Write(block)
	if len(block) > 0 && !bytes.HasSuffix(block, []byte("\n")) {
		out.WriteByte('\n')
	}
	for _, line := range lines[ei:] {
		out.Write(line)
	}
	return out.Bytes(), nil
}
