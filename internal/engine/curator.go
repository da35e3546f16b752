package engine

// This file is the second layout the registry can read and publish: Apache
// Curator's service discovery (curator-x-discovery), which Spring Cloud
// Zookeeper, Dubbo and plain Curator users register their services in. Like
// layout.go and payload.go for our own layout, it is a compatibility
// contract, with Java readers and writers as the other party; docs/curator.md
// is its manual.
//
// Paths:
//
//	<chroot><base>                 container znode (default /services)
//	<chroot><base>/<name>          container znode, one per service
//	<chroot><base>/<name>/<id>     one znode per instance: ephemeral for a
//	                               DYNAMIC instance (Curator's default),
//	                               persistent for STATIC and PERMANENT
//	<chroot><base>/<name>/<id><n>  ephemeral sequential, for DYNAMIC_SEQUENTIAL
//	                               (<n>: ZooKeeper's 10-digit sequence number)
//
// Curator 5.4 creates the directories as containers
// (creatingParentContainersIfNeeded; persistent znodes on servers before
// 3.6), which ZooKeeper deletes once they are empty.
//
// <name> and <id> are the service name and instance id as they are: Curator
// builds the path from them unescaped (ZKPaths.makePath), so an escaped
// segment would be found by no Java client, and a '/' would make a deeper
// path. A name or id that is not one valid path segment as it is (empty, "."
// or "..", holding '/' or a character ZooKeeper refuses: see EscapeSegment)
// is refused for publishing (curatorRef); every other name gets the path
// segment it gets in our layout, except that '%' is stored as itself here.
//
// Data: the JSON that Curator 5.4's JsonInstanceSerializer (Jackson) writes
// for a ServiceInstance, field names and order as Jackson writes them:
//
//	{"name":"greeter","id":"6c1f...","address":"10.0.0.7","port":4100,
//	 "sslPort":null,"payload":{...},"registrationTimeUTC":1733312345678,
//	 "serviceType":"DYNAMIC","uriSpec":{"parts":[{"value":"scheme","variable":true},
//	 {"value":"://","variable":false},...]}}
//
// "enabled" is written only by a serializer out of its compatible mode,
// which is not Curator's default (nor Spring's). The payload is
// written with Jackson's class type information: an object payload carries
// its Java class in "@class". Spring Cloud Zookeeper's payload is
//
//	{"@class":"org.springframework.cloud.zookeeper.discovery.ZookeeperInstance",
//	 "id":"greeter-1","name":"greeter","metadata":{"instance_status":"UP",...}}
//
// and Spring's reader fails a whole query when one instance of the service
// has another payload class. What we publish therefore carries Spring's
// payload (curatorPayloadSpring, the default), or none.
//
// Reading (decodeCuratorInstance): an instance needs a name, an id, an
// address and a port or an sslPort (integers from 1 to 65535); everything
// else is optional, unknown fields are ignored, field names match exactly
// (as Jackson's do), the data must be UTF-8, and a field of the wrong JSON
// type (a port in quotes, which Jackson would coerce but never writes)
// makes the data not an instance. It becomes a Service with exactly one
// Node, as decodeNode returns:
//
//	Curator                    go-micro
//	name                       Service.Name
//	id                         Node.Id
//	address, port              Node.Address "host:port" (sslPort when there is no port)
//	sslPort                    node metadata curator.sslPort
//	registrationTimeUTC        node metadata curator.registrationTimeUTC (ms; absent when 0)
//	serviceType                node metadata curator.serviceType (absent when DYNAMIC)
//	uriSpec                    node metadata curator.uriSpec, as the template "{scheme}://{address}:{port}"
//	enabled                    node metadata curator.enabled "false" (absent when true)
//	payload, Spring's:
//	  metadata                 node metadata, key for key
//	  metadata micro.version   Service.Version
//	  metadata micro.metadata  Service.Metadata (a JSON object)
//	  metadata micro.endpoints Service.Endpoints (a JSON array)
//	  metadata curator.origin  node metadata curator.origin "go-micro" if it says so
//	  id, name                 node metadata curator.spring.id, curator.spring.name
//	                           (absent when equal to the instance's id and name)
//	payload, any other         node metadata curator.payload: its JSON, compacted
//	(always)                   node metadata curator.origin: "go-micro" for an instance
//	                           a go-micro registry published, else "curator"
//
// Keys starting "curator." are reserved for this mapping: in a Spring
// payload's metadata they are dropped (curator.origin is read as above). The
// three micro.* keys above are reserved too: values that are not the JSON
// they name make the data not an instance. A uriSpec that no template gives
// (parts built one by one, with braces, empty values or surrounding spaces)
// is dropped, and a null Spring metadata value reads as "".
//
// Publishing (encodeCuratorInstance) is the reverse, for any go-micro node:
// port is the address's port, unless it is the node's curator.sslPort (the
// address is then TLS: port null); the registration time is the
// publisher's, or curator.registrationTimeUTC; serviceType DYNAMIC unless
// curator.serviceType says otherwise. The payload is the node's
// curator.payload when it has one, else Spring's ZookeeperInstance: id and
// name the node's id and the service's name (or curator.spring.id and
// curator.spring.name), metadata the node's metadata without the reserved
// keys, plus curator.origin "go-micro" (or the node's own), and micro.version,
// micro.metadata and micro.endpoints when the service has them, so that a
// go-micro reader of a published instance gets the service back whole:
// decoding it gives the node metadata the mapping adds (curator.origin
// "go-micro", curator.registrationTimeUTC) and nothing else new. Encoding
// what decodeCuratorInstance returns, and decoding that, gives the same
// Service again (FuzzDecodeCuratorInstance).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// DefaultCuratorBase is the base path of Curator's service discovery that
// Spring Cloud Zookeeper uses by default (spring.cloud.zookeeper.discovery.root).
const DefaultCuratorBase = "/services"

// Node metadata keys of the Curator mapping (see the top of curator.go and
// docs/curator.md): a node read from the Curator layout carries them, and a
// node published there may set them.
const (
	// MetaCuratorOrigin tells a node read from the Curator layout:
	// CuratorOriginGoMicro for an instance a go-micro registry published,
	// CuratorOriginCurator for any other.
	MetaCuratorOrigin = "curator.origin"
	// MetaCuratorSSLPort is the instance's sslPort, a decimal.
	MetaCuratorSSLPort = "curator.sslPort"
	// MetaCuratorRegistrationTime is the instance's registrationTimeUTC, in
	// milliseconds since 1970, a decimal; absent when 0.
	MetaCuratorRegistrationTime = "curator.registrationTimeUTC"
	// MetaCuratorServiceType is the instance's serviceType (STATIC,
	// PERMANENT or DYNAMIC_SEQUENTIAL); absent when DYNAMIC, the default.
	MetaCuratorServiceType = "curator.serviceType"
	// MetaCuratorURISpec is the instance's uriSpec as a Curator UriSpec
	// template, e.g. "{scheme}://{address}:{port}".
	MetaCuratorURISpec = "curator.uriSpec"
	// MetaCuratorEnabled is "false" for an instance registered as not
	// enabled; absent otherwise.
	MetaCuratorEnabled = "curator.enabled"
	// MetaCuratorPayload is the JSON of an instance's payload when it is
	// not Spring Cloud Zookeeper's (whose metadata is node metadata).
	MetaCuratorPayload = "curator.payload"
	// MetaCuratorSpringID is the id in a Spring payload when it differs
	// from the instance's id.
	MetaCuratorSpringID = "curator.spring.id"
	// MetaCuratorSpringName is the name in a Spring payload when it differs
	// from the instance's name.
	MetaCuratorSpringName = "curator.spring.name"

	// CuratorOriginCurator is the MetaCuratorOrigin of an instance that no
	// go-micro registry published: a Java service's.
	CuratorOriginCurator = "curator"
	// CuratorOriginGoMicro is the MetaCuratorOrigin of an instance a
	// go-micro registry published.
	CuratorOriginGoMicro = "go-micro"
)

// curatorMetaPrefix starts every reserved node metadata key.
const curatorMetaPrefix = "curator."

// Keys of a Spring payload's metadata that carry the go-micro service's own
// fields; reserved.
const (
	springMetaVersion   = "micro.version"
	springMetaMetadata  = "micro.metadata"
	springMetaEndpoints = "micro.endpoints"
)

// springInstanceClass is the Java class of Spring Cloud Zookeeper's
// payload, as Jackson names it in "@class".
const springInstanceClass = "org.springframework.cloud.zookeeper.discovery.ZookeeperInstance"

// Curator's ServiceType values, as Jackson writes the enum.
const (
	curatorDynamic           = "DYNAMIC"
	curatorStatic            = "STATIC"
	curatorPermanent         = "PERMANENT"
	curatorDynamicSequential = "DYNAMIC_SEQUENTIAL"
)

// errInvalidCurator marks znode data that is not a Curator service
// instance. It is also errInvalidPayload: readers skip (and log) it as
// they skip what is not a registration of ours.
var errInvalidCurator error = invalidCurator{}

type invalidCurator struct{}

func (invalidCurator) Error() string        { return "not a Curator service instance" }
func (invalidCurator) Is(target error) bool { return target == errInvalidPayload }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errInvalidCurator}, args...)...)
}

// curatorLayout builds and parses the paths of the Curator layout under
// root (chroot + base). It is a layout whose refs hold the service name
// and instance id as they are, not escaped: build refs with curatorRef.
// The methods of layout (dirPath, refPath, parse, ancestors) apply.
type curatorLayout struct {
	layout
}

// newCuratorLayout returns the layout under chroot ("" or a clean path)
// and base (an absolute, clean path other than "/", of segments ZooKeeper
// accepts; DefaultCuratorBase in Spring's default).
func newCuratorLayout(chroot, base string) (curatorLayout, error) {
	if err := validatePrefix(base); err != nil {
		return curatorLayout{}, fmt.Errorf("curator base path: %w", err)
	}
	return curatorLayout{layout{root: chroot + base}}, nil
}

// servicePath is the znode of the service called name, or why name cannot
// be published.
func (l curatorLayout) servicePath(name string) (string, error) {
	if err := checkCuratorSegment("service name", name); err != nil {
		return "", err
	}
	return l.dirPath(name), nil
}

// instancePath is the znode of instance id of the service called name, or
// why it cannot be published.
func (l curatorLayout) instancePath(name, id string) (string, error) {
	r, err := curatorRef(name, id)
	if err != nil {
		return "", err
	}
	return l.refPath(r), nil
}

// curatorRef returns the ref of instance id of the service called name in
// the Curator layout, or why they cannot be published there.
func curatorRef(name, id string) (nodeRef, error) {
	if err := checkCuratorSegment("service name", name); err != nil {
		return nodeRef{}, err
	}
	if err := checkCuratorSegment("instance id", id); err != nil {
		return nodeRef{}, err
	}
	return nodeRef{dir: name, child: id}, nil
}

// checkCuratorSegment says why s (a what) cannot be a path segment of the
// Curator layout as it is, or returns nil.
func checkCuratorSegment(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("the %s is empty", what)
	case s == "." || s == "..":
		return fmt.Errorf("the %s %s cannot be a path segment", what, quoteShort(s))
	}
	for i := 0; i < len(s); {
		r, w := utf8.DecodeRuneInString(s[i:])
		if r != '%' && mustEscape(r, w) {
			return fmt.Errorf("the %s %s holds %s, which a ZooKeeper path segment cannot (Curator does not escape names)", what, quoteShort(s), quoteShort(s[i:i+w]))
		}
		i += w
	}
	return nil
}

// matchCuratorRef checks that an instance read at ref r names itself as
// the path does: Curator always writes an instance at its name and id (a
// DYNAMIC_SEQUENTIAL one at its id and a sequence number), and Java
// readers find it by the path, so an instance that claims another name or
// id is not one to show under either.
func matchCuratorRef(r nodeRef, s *Service) error {
	n := s.Nodes[0]
	switch {
	case s.Name != r.dir:
		return invalidf("the instance at %s/%s names service %s", quoteShort(r.dir), quoteShort(r.child), quoteShort(s.Name))
	case n.Id == r.child:
		return nil
	case n.Metadata[MetaCuratorServiceType] == curatorDynamicSequential && isSequenceOf(r.child, n.Id):
		return nil
	}
	return invalidf("the instance at %s/%s has id %s", quoteShort(r.dir), quoteShort(r.child), quoteShort(n.Id))
}

// isSequenceOf reports whether child is id followed by a sequence number
// as ZooKeeper appends it: 10 digits.
func isSequenceOf(child, id string) bool {
	seq, ok := strings.CutPrefix(child, id)
	if !ok || len(seq) != 10 {
		return false
	}
	for _, c := range []byte(seq) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// curatorInstance is a ServiceInstance as Curator's serializer writes it,
// fields in Jackson's order. Payload is raw JSON (nil writes null).
type curatorInstance struct {
	Name                string          `json:"name"`
	ID                  string          `json:"id"`
	Address             string          `json:"address"`
	Port                *int            `json:"port"`
	SSLPort             *int            `json:"sslPort"`
	Payload             json.RawMessage `json:"payload"`
	RegistrationTimeUTC int64           `json:"registrationTimeUTC"`
	ServiceType         string          `json:"serviceType"`
	URISpec             *curatorURISpec `json:"uriSpec"`
	Enabled             *bool           `json:"enabled,omitempty"`
}

// springInstance is Spring Cloud Zookeeper's payload as Jackson writes it.
type springInstance struct {
	Class    string            `json:"@class"`
	ID       string            `json:"id"`
	Name     string            `json:"name"`
	Metadata map[string]string `json:"metadata"`
}

// curatorURISpec is a Curator UriSpec: literal and variable parts.
type curatorURISpec struct {
	Parts []curatorURIPart `json:"parts"`
}

type curatorURIPart struct {
	Value    string `json:"value"`
	Variable bool   `json:"variable"`
}

// decodeCuratorInstance parses the data of an instance znode of the Curator
// layout into a Service with exactly one Node (see the mapping at the top
// of this file). Data that is not a ServiceInstance is errInvalidCurator.
func decodeCuratorInstance(data []byte) (*Service, error) {
	if !utf8.Valid(data) {
		return nil, invalidf("not UTF-8")
	}
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' {
		return nil, invalidf("not a JSON object")
	}
	var f map[string]json.RawMessage // exact field names, as Jackson's
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, invalidf("%v", err)
	}
	var in curatorInstance
	var err error
	if in.Name, err = requiredString(f, "name"); err != nil {
		return nil, err
	}
	if in.ID, err = requiredString(f, "id"); err != nil {
		return nil, err
	}
	if in.Address, err = requiredString(f, "address"); err != nil {
		return nil, err
	}
	if in.Port, err = optionalPort(f, "port"); err != nil {
		return nil, err
	}
	if in.SSLPort, err = optionalPort(f, "sslPort"); err != nil {
		return nil, err
	}
	if in.Port == nil && in.SSLPort == nil {
		return nil, invalidf("instance %s has neither port nor sslPort", quoteShort(in.ID))
	}
	if err := optional(f, "registrationTimeUTC", &in.RegistrationTimeUTC); err != nil {
		return nil, err
	}
	if err := optional(f, "serviceType", &in.ServiceType); err != nil {
		return nil, err
	}
	if in.ServiceType != "" && !validServiceType(in.ServiceType) {
		return nil, invalidf("unknown serviceType %s", quoteShort(in.ServiceType))
	}
	if err := optional(f, "uriSpec", &in.URISpec); err != nil {
		return nil, err
	}
	enabled := true // Curator's default when the field is absent
	if raw, ok := f["enabled"]; ok {
		enabled = false // and Jackson's for a null primitive
		if err := json.Unmarshal(raw, &enabled); err != nil {
			return nil, invalidf("enabled: %v", err)
		}
	}

	port := in.SSLPort
	if in.Port != nil {
		port = in.Port
	}
	addr := net.JoinHostPort(in.Address, strconv.Itoa(*port))
	if host, _, err := net.SplitHostPort(addr); err != nil || host != in.Address {
		return nil, invalidf("address %s is not a host", quoteShort(in.Address))
	}
	s := &Service{Name: in.Name}
	n := &Node{Id: in.ID, Address: addr, Metadata: map[string]string{}}
	s.Nodes = []*Node{n}
	origin := CuratorOriginCurator
	if p := bytes.TrimSpace(f["payload"]); len(p) > 0 && string(p) != "null" {
		spring, err := decodeSpringPayload(p)
		switch {
		case err != nil:
			return nil, err
		case spring == nil:
			var b bytes.Buffer
			if err := json.Compact(&b, p); err != nil {
				return nil, invalidf("payload: %v", err)
			}
			n.Metadata[MetaCuratorPayload] = b.String()
		default:
			if origin, err = applySpringPayload(s, spring); err != nil {
				return nil, err
			}
		}
	}
	n.Metadata[MetaCuratorOrigin] = origin
	if in.SSLPort != nil {
		n.Metadata[MetaCuratorSSLPort] = strconv.Itoa(*in.SSLPort)
	}
	if in.RegistrationTimeUTC != 0 {
		n.Metadata[MetaCuratorRegistrationTime] = strconv.FormatInt(in.RegistrationTimeUTC, 10)
	}
	if in.ServiceType != "" && in.ServiceType != curatorDynamic {
		n.Metadata[MetaCuratorServiceType] = in.ServiceType
	}
	if in.URISpec != nil {
		if t, ok := uriTemplate(in.URISpec.Parts); ok && t != "" {
			n.Metadata[MetaCuratorURISpec] = t
		}
	}
	if !enabled {
		n.Metadata[MetaCuratorEnabled] = "false"
	}
	return s, nil
}

// requiredString returns field k of f, a non-empty JSON string.
func requiredString(f map[string]json.RawMessage, k string) (string, error) {
	var v string
	if err := optional(f, k, &v); err != nil {
		return "", err
	}
	if v == "" {
		return "", invalidf("no %s", k)
	}
	return v, nil
}

// optionalPort returns field k of f: nil when absent or null, else an
// integer from 1 to 65535.
func optionalPort(f map[string]json.RawMessage, k string) (*int, error) {
	var p *int
	if err := optional(f, k, &p); err != nil {
		return nil, err
	}
	if p != nil && (*p < 1 || *p > 65535) {
		return nil, invalidf("%s %d is not a port", k, *p)
	}
	return p, nil
}

// optional decodes field k of f, when present, into v.
func optional(f map[string]json.RawMessage, k string, v any) error {
	if err := field(f, k, v); err != nil {
		return invalidf("%v", err)
	}
	return nil
}

// field is optional with a plain error.
func field(f map[string]json.RawMessage, k string, v any) error {
	raw, ok := f[k]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s: %v", k, err)
	}
	return nil
}

func validServiceType(t string) bool {
	switch t {
	case curatorDynamic, curatorStatic, curatorPermanent, curatorDynamicSequential:
		return true
	}
	return false
}

// decodeSpringPayload returns the payload p as Spring's ZookeeperInstance,
// nil if it is another payload, or an error if it claims to be Spring's
// but is not.
func decodeSpringPayload(p json.RawMessage) (*springInstance, error) {
	if p[0] != '{' {
		return nil, nil
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(p, &f); err != nil {
		return nil, invalidf("payload: %v", err)
	}
	var class string
	if json.Unmarshal(f["@class"], &class) != nil || class != springInstanceClass {
		return nil, nil
	}
	var si springInstance
	for k, v := range map[string]any{"id": &si.ID, "name": &si.Name, "metadata": &si.Metadata} {
		if err := field(f, k, v); err != nil {
			return nil, invalidf("payload's %v", err)
		}
	}
	return &si, nil
}

// applySpringPayload puts what Spring's payload si holds into s and its one
// node, and returns the instance's origin.
func applySpringPayload(s *Service, si *springInstance) (origin string, err error) {
	n := s.Nodes[0]
	origin = CuratorOriginCurator
	for k, v := range si.Metadata {
		switch {
		case k == MetaCuratorOrigin:
			if v == CuratorOriginGoMicro {
				origin = v
			}
		case strings.HasPrefix(k, curatorMetaPrefix):
		case k == springMetaVersion:
			s.Version = v
		case k == springMetaMetadata:
			if err := json.Unmarshal([]byte(v), &s.Metadata); err != nil {
				return "", invalidf("payload metadata %s: %v", springMetaMetadata, err)
			}
		case k == springMetaEndpoints:
			if err := json.Unmarshal([]byte(v), &s.Endpoints); err != nil {
				return "", invalidf("payload metadata %s: %v", springMetaEndpoints, err)
			}
		default:
			n.Metadata[k] = v
		}
	}
	// What encodes to nothing decodes to nothing (see decodeNode for null
	// endpoints).
	if len(s.Metadata) == 0 {
		s.Metadata = nil
	}
	s.Endpoints = slices.DeleteFunc(s.Endpoints, func(e *Endpoint) bool { return e == nil })
	if len(s.Endpoints) == 0 {
		s.Endpoints = nil
	}
	if si.ID != "" && si.ID != n.Id {
		n.Metadata[MetaCuratorSpringID] = si.ID
	}
	if si.Name != "" && si.Name != s.Name {
		n.Metadata[MetaCuratorSpringName] = si.Name
	}
	return origin, nil
}

// curatorPayloadStyle is the payload encodeCuratorInstance writes for a
// node without MetaCuratorPayload.
type curatorPayloadStyle int

const (
	// curatorPayloadSpring writes Spring Cloud Zookeeper's
	// ZookeeperInstance, with the node's metadata and the service's
	// version, metadata and endpoints: what Spring reads, and all a
	// go-micro reader needs. The default.
	curatorPayloadSpring curatorPayloadStyle = iota
	// curatorPayloadNone writes a null payload, which Curator readers of
	// any payload class accept; the node's metadata, the service's
	// version, metadata and endpoints and the origin are not published.
	curatorPayloadNone
)

// curatorEncoding is what encodeCuratorInstance needs beside the node.
type curatorEncoding struct {
	// registered is the instance's registrationTimeUTC; when zero, the
	// node's MetaCuratorRegistrationTime, else 0.
	registered time.Time
	// payload is the payload written for a node without
	// MetaCuratorPayload. Default curatorPayloadSpring.
	payload curatorPayloadStyle
}

// encodeCuratorInstance returns the data of the Curator instance znode for
// node n of s (see the mapping at the top of this file), or why n cannot be
// published as one.
func encodeCuratorInstance(s *Service, n *Node, enc curatorEncoding) ([]byte, error) {
	if s.Name == "" || n.Id == "" {
		return nil, errors.New("a Curator instance needs a service name and a node id")
	}
	host, portText, err := net.SplitHostPort(n.Address)
	if err != nil || host == "" {
		return nil, fmt.Errorf("the address %s is not host:port", quoteShort(n.Address))
	}
	port, err := parsePort(portText)
	if err != nil {
		return nil, fmt.Errorf("the address %s: %w", quoteShort(n.Address), err)
	}
	meta := n.Metadata
	in := curatorInstance{Name: s.Name, ID: n.Id, Address: host, Port: &port, ServiceType: curatorDynamic}
	if v, ok := meta[MetaCuratorSSLPort]; ok {
		ssl, err := parsePort(v)
		if err != nil {
			return nil, fmt.Errorf("node metadata %s: %w", MetaCuratorSSLPort, err)
		}
		in.SSLPort = &ssl
		if ssl == port {
			in.Port = nil // the address is the TLS one
		}
	}
	switch v, ok := meta[MetaCuratorRegistrationTime]; {
	case !enc.registered.IsZero():
		in.RegistrationTimeUTC = enc.registered.UnixMilli()
	case ok:
		if in.RegistrationTimeUTC, err = strconv.ParseInt(v, 10, 64); err != nil {
			return nil, fmt.Errorf("node metadata %s %s is not milliseconds", MetaCuratorRegistrationTime, quoteShort(v))
		}
	}
	if v, ok := meta[MetaCuratorServiceType]; ok {
		if !validServiceType(v) {
			return nil, fmt.Errorf("node metadata %s %s is not a Curator ServiceType", MetaCuratorServiceType, quoteShort(v))
		}
		in.ServiceType = v
	}
	if v, ok := meta[MetaCuratorURISpec]; ok {
		parts, err := parseURITemplate(v)
		if err != nil {
			return nil, fmt.Errorf("node metadata %s: %w", MetaCuratorURISpec, err)
		}
		in.URISpec = &curatorURISpec{Parts: parts}
	}
	switch v, ok := meta[MetaCuratorEnabled]; {
	case !ok || v == "true":
	case v == "false":
		in.Enabled = new(bool)
	default:
		return nil, fmt.Errorf("node metadata %s %s is neither true nor false", MetaCuratorEnabled, quoteShort(v))
	}
	switch v, ok := meta[MetaCuratorPayload]; {
	case ok:
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(v)); err != nil {
			return nil, fmt.Errorf("node metadata %s is not JSON: %v", MetaCuratorPayload, err)
		}
		in.Payload = b.Bytes()
	case enc.payload == curatorPayloadSpring:
		if in.Payload, err = encodeSpringPayload(s, n); err != nil {
			return nil, err
		}
	}
	b, err := marshalCurator(&in)
	if err != nil {
		return nil, err
	}
	// Refuse what no reader could decode, as encodeNode does.
	if _, err := decodeCuratorInstance(b); err != nil {
		return nil, fmt.Errorf("the instance could not be read back: %w", err)
	}
	return b, nil
}

// encodeSpringPayload returns Spring's ZookeeperInstance payload for node n
// of s.
func encodeSpringPayload(s *Service, n *Node) (json.RawMessage, error) {
	si := springInstance{Class: springInstanceClass, ID: n.Id, Name: s.Name, Metadata: map[string]string{}}
	origin := CuratorOriginGoMicro
	for k, v := range n.Metadata {
		switch k {
		case MetaCuratorSpringID:
			si.ID = v
		case MetaCuratorSpringName:
			si.Name = v
		case MetaCuratorOrigin:
			if v != CuratorOriginGoMicro && v != CuratorOriginCurator {
				return nil, fmt.Errorf("node metadata %s %s is neither %s nor %s", MetaCuratorOrigin, quoteShort(v), CuratorOriginGoMicro, CuratorOriginCurator)
			}
			origin = v
		case springMetaVersion, springMetaMetadata, springMetaEndpoints:
		default:
			if !strings.HasPrefix(k, curatorMetaPrefix) {
				si.Metadata[k] = v
			}
		}
	}
	si.Metadata[MetaCuratorOrigin] = origin
	if s.Version != "" {
		si.Metadata[springMetaVersion] = s.Version
	}
	if len(s.Metadata) > 0 {
		b, err := marshalCurator(s.Metadata)
		if err != nil {
			return nil, err
		}
		si.Metadata[springMetaMetadata] = string(b)
	}
	if eps := slices.DeleteFunc(slices.Clone(s.Endpoints), func(e *Endpoint) bool { return e == nil }); len(eps) > 0 {
		b, err := marshalCurator(eps)
		if err != nil {
			return nil, err
		}
		si.Metadata[springMetaEndpoints] = string(b)
	}
	return marshalCurator(&si)
}

// marshalCurator encodes v as Jackson would: no HTML escaping.
func marshalCurator(v any) ([]byte, error) {
	var b bytes.Buffer
	e := json.NewEncoder(&b)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// parsePort parses a port number, from 1 to 65535.
func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(s)
	if err != nil || p < 1 || p > 65535 {
		return 0, fmt.Errorf("%s is not a port", quoteShort(s))
	}
	return p, nil
}

// parseURITemplate parses a UriSpec template as Curator's UriSpec(String)
// does: "{" and "}" delimit variables, whose names are trimmed of spaces
// and control characters; a brace out of place is an error.
func parseURITemplate(t string) ([]curatorURIPart, error) {
	var parts []curatorURIPart
	inVar := false
	for t != "" {
		i := strings.IndexAny(t, "{}")
		if i < 0 {
			i = len(t)
		}
		if tok := t[:i]; tok != "" {
			if inVar {
				tok = strings.TrimFunc(tok, func(r rune) bool { return r <= ' ' })
			}
			parts = append(parts, curatorURIPart{Value: tok, Variable: inVar})
		}
		if i == len(t) {
			break
		}
		switch t[i] {
		case '{':
			if inVar {
				return nil, errors.New("{ inside a variable")
			}
			inVar = true
		case '}':
			if !inVar {
				return nil, errors.New("} without {")
			}
			inVar = false
		}
		t = t[i+1:]
	}
	if inVar {
		return nil, errors.New("a variable is not closed by }")
	}
	return parts, nil
}

// uriTemplate writes parts as a UriSpec template, and reports whether the
// template parses back to exactly those parts.
func uriTemplate(parts []curatorURIPart) (string, bool) {
	var b strings.Builder
	for _, p := range parts {
		if p.Variable {
			b.WriteString("{" + p.Value + "}")
		} else {
			b.WriteString(p.Value)
		}
	}
	back, err := parseURITemplate(b.String())
	return b.String(), err == nil && slices.Equal(back, parts)
}
