// Package worker is the contract between the balance example's server and
// client: the service name, the endpoint and the messages (go-micro's JSON
// codec, so plain structs do).
package worker

// Service is the name the servers register and the client calls.
const Service = "worker"

// Endpoint is the method the servers answer.
const Endpoint = "Worker.Do"

// ContentType selects go-micro's JSON codec.
const ContentType = "application/json"

// Request asks for a piece of work.
type Request struct{}

// Response says who did it.
type Response struct {
	// Host is the server's host label.
	Host string `json:"host"`
}
