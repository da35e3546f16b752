package zookeeper

// The go-micro v5 faces (module v5/) are generated from this module's
// go-micro v4 faces: after changing a v4 face, run go generate here. See
// internal/cmd/genv5.
//go:generate go run ./internal/cmd/genv5
