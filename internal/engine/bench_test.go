package engine

// Benchmarks of the pure parts: encoding, decoding, escaping. The
// registry's calls against a real ZooKeeper are benchmarked in the root
// package, and side by side with the older plugin in bench/.
//
//	go test -run '^$' -bench . ./internal/engine/

import (
	"fmt"
	"testing"
)

func BenchmarkEncodeNode(b *testing.B) {
	s := testService("greeter", "greeter-1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encodeNode(s, s.Nodes[0]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeNode(b *testing.B) {
	s := testService("greeter", "greeter-1")
	data, err := encodeNode(s, s.Nodes[0])
	if err != nil {
		b.Fatal(err)
	}
	b.Run("full", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeNode(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("shared", func(b *testing.B) {
		// Another node of a service whose part the decoder already has.
		var d sharedDecoder
		if _, err := d.decode(data); err != nil {
			b.Fatal(err)
		}
		other, err := encodeNode(s, &Node{Id: "greeter-2", Address: "10.0.0.2:8080", Metadata: s.Nodes[0].Metadata})
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(other)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := d.decode(other); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEscapeSegment(b *testing.B) {
	for _, in := range []string{"go.micro.srv.greeter-7f9c1b4e", "a/b%c\x00ü\U0001F600"} {
		b.Run(fmt.Sprintf("len=%d", len(in)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = EscapeSegment(in)
			}
		})
	}
}

func BenchmarkUnescapeSegment(b *testing.B) {
	in := EscapeSegment("a/b%c\x00ü\U0001F600")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := UnescapeSegment(in); err != nil {
			b.Fatal(err)
		}
	}
}
