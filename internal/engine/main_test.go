package engine

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(runChild(mode)) // a crashing process (crashchild_zk_test.go)
	}
	goleak.VerifyTestMain(m)
}

// testService is a service with one node per id and the metadata and
// endpoint a go-micro service registers.
func testService(name string, ids ...string) *Service {
	s := &Service{
		Name:     name,
		Version:  "1.0.0",
		Metadata: map[string]string{"team": "bench"},
		Endpoints: []*Endpoint{{
			Name:     "Greeter.Hello",
			Request:  &Value{Name: "Request", Type: "Request", Values: []*Value{{Name: "name", Type: "string"}}},
			Response: &Value{Name: "Response", Type: "Response", Values: []*Value{{Name: "msg", Type: "string"}}},
			Metadata: map[string]string{"stream": "false"},
		}},
	}
	for i, id := range ids {
		s.Nodes = append(s.Nodes, &Node{
			Id:      id,
			Address: fmt.Sprintf("10.0.%d.%d:8080", i/250, i%250),
			Metadata: map[string]string{
				"broker": "http", "protocol": "grpc", "registry": "zookeeper",
				"server": "grpc", "transport": "grpc",
			},
		})
	}
	return s
}
