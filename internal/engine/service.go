package engine

// Service is a service registration as the engine stores it: the same
// fields, in the same order and with the same JSON names, as go-micro's
// registry.Service (v4 and v5), so that encoding one gives the bytes of the
// other. The payload contract (payload.go) is written in these types.
//
// Values the engine returns (from Registry.GetService, ListServices and
// Watcher.Next) are shared with its mirror and must be treated as read-only;
// the go-micro faces copy them into go-micro's types for their callers.
type Service struct {
	Name      string            `json:"name"`
	Version   string            `json:"version"`
	Metadata  map[string]string `json:"metadata"`
	Endpoints []*Endpoint       `json:"endpoints"`
	Nodes     []*Node           `json:"nodes"`
}

// Node is one instance of a service, as go-micro's registry.Node.
type Node struct {
	Metadata map[string]string `json:"metadata"`
	Id       string            `json:"id"` //nolint:revive // go-micro's name, part of the contract
	Address  string            `json:"address"`
}

// Endpoint is an endpoint of a service, as go-micro's registry.Endpoint.
type Endpoint struct {
	Request  *Value            `json:"request"`
	Response *Value            `json:"response"`
	Metadata map[string]string `json:"metadata"`
	Name     string            `json:"name"`
}

// Value describes a request or response type, as go-micro's
// registry.Value.
type Value struct {
	Name   string   `json:"name"`
	Type   string   `json:"type"`
	Values []*Value `json:"values"`
}
