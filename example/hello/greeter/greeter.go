// Package greeter is the contract between the hello example's server and
// client: the service name, the endpoint, and the request and response
// messages.
//
// The messages travel with go-micro's JSON codec (content type
// application/json), so plain Go structs stand in for protobuf-generated
// code and the example builds with nothing but `go build`.
package greeter

// Service is the name the server registers and the client discovers.
const Service = "greeter"

// Endpoint is the method the server answers: the handler type's name, a
// dot, and the method's name.
const Endpoint = "Greeter.Hello"

// ContentType selects go-micro's JSON codec for requests.
const ContentType = "application/json"

// HostLabel is the node metadata key that holds the server's host label.
const HostLabel = "host"

// Request asks for a greeting.
type Request struct {
	// Name is who to greet; the server uses "World" when it is empty.
	Name string `json:"name"`
}

// Response is the greeting and the node that wrote it.
type Response struct {
	// Greeting is the greeting text.
	Greeting string `json:"greeting"`
	// Node is the id of the node that answered, as registered.
	Node string `json:"node"`
	// Host is that node's host label.
	Host string `json:"host"`
}
