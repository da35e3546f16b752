package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseSrvr(t *testing.T) {
	tests := []struct {
		name   string
		answer string
		want   srvrAnswer
	}{
		{name: "Debian's 3.8", answer: "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n" +
			"Latency min/avg/max: 0/0.0/0\nReceived: 1\nSent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n",
			want: srvrAnswer{version: "3.8.0", mode: "standalone", serving: true}},
		{name: "a release build", answer: "Zookeeper version: 3.9.2-e454e8c7283100c7caec6dcae2bc82aaecb63023, built on 2024-02-12 20:59 UTC\nMode: follower\n",
			want: srvrAnswer{version: "3.9.2", mode: "follower", serving: true}},
		{name: "3.4", answer: "Zookeeper version: 3.4.14-4c25d480e66aadd371de8bd2fd8da255ac140bcf, built on 03/06/2019 16:18 GMT\nMode: leader\n",
			want: srvrAnswer{version: "3.4.14", mode: "leader", serving: true}},
		{name: "no quorum", answer: "This ZooKeeper instance is not currently serving requests\n",
			want: srvrAnswer{serving: false}},
		{name: "not allowed", answer: "srvr is not executed because it is not in the whitelist.\n",
			want: srvrAnswer{serving: true, refusal: "srvr is not executed because it is not in the whitelist."}},
		{name: "something else", answer: "imok",
			want: srvrAnswer{serving: true, refusal: "imok"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, parseSrvr(tt.answer))
		})
	}
}

func TestVersionAtLeast(t *testing.T) {
	for version, want := range map[string][2]bool{
		"3.6.0": {true, true}, "3.8.0": {true, true}, "4.0.0": {true, true}, "3.10": {true, true},
		"3.5.9": {false, true}, "3.4.14": {false, true}, "2.9.9": {false, true},
		"": {false, false}, "3": {false, false}, "x.y.z": {false, false},
	} {
		atLeast, known := versionAtLeast(version, 3, 6)
		assert.Equal(t, want, [2]bool{atLeast, known}, version)
	}
}
