package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/go-zookeeper/zk"
	"github.com/urfave/cli/v2"
	"go-micro.dev/v4/registry"

	"github.com/zkmicro/zookeeper/internal/engine"
)

// Verdicts of doctor's checks, from best to worst.
const (
	verdictOK   = "ok"
	verdictWarn = "warn"
	verdictFail = "fail"
)

// certificateWarning is how long before its expiry a server certificate
// earns a warning.
const certificateWarning = 30 * 24 * time.Hour

// Names of doctor's checks, in the order they print.
const (
	checkReachable   = "reachable"
	checkTLS         = "tls"
	checkVersion     = "version"
	checkMode        = "mode"
	checkSession     = "session"
	checkEnsemble    = "ensemble"
	checkPrefix      = "prefix"
	checkACL         = "acl"
	checkCredentials = "credentials"
)

func (a *app) doctorCommand() *cli.Command {
	return &cli.Command{
		Name:      "doctor",
		Usage:     "check each ZooKeeper server and the registry's prefix; exit 1 if a check fails",
		UsageText: "zkmicro doctor [-o table|json]",
		Description: "For each server of --registry_address: whether it is reachable, the TLS handshake (when\n" +
			"TLS is configured), its version and mode (the srvr four-letter word), and the session timeout\n" +
			"it grants. Then the ensemble as a whole, the registry's prefix and its ACL, and the credentials.\n" +
			"Each check is ok, warn or FAIL; zkmicro exits 1 if one FAILs.",
		Flags:           []cli.Flag{outputFlag()},
		HideHelpCommand: true,
		OnUsageError:    a.onUsageError,
		Action:          a.doctor,
	}
}

// doctorReport is the output of `zkmicro doctor -o json`. Its JSON is a
// documented contract.
type doctorReport struct {
	// Verdict is the worst verdict of the checks.
	Verdict string        `json:"verdict"`
	Servers []serverFacts `json:"servers"`
	Checks  []doctorCheck `json:"checks"`
	Prefix  prefixFacts   `json:"prefix"`
}

// doctorCheck is one check: one line of the table.
type doctorCheck struct {
	Server  string `json:"server"` // host:port; "" for the registry as a whole
	Check   string `json:"check"`
	Verdict string `json:"verdict"`
	Detail  string `json:"detail"`
}

// serverFacts is what doctor learnt of one server.
type serverFacts struct {
	Address         string    `json:"address"`
	Reachable       bool      `json:"reachable"`
	Version         string    `json:"version"`          // "" if unknown
	Mode            string    `json:"mode"`             // "" if unknown
	Serving         bool      `json:"serving"`          // it answers requests
	ContainerZnodes bool      `json:"container_znodes"` // version >= 3.6
	SessionTimeout  string    `json:"session_timeout"`  // granted, a Go duration; "" if no session
	TLS             *tlsFacts `json:"tls"`              // null without TLS or without a handshake

	answered bool // it answered srvr: Mode and Serving are known
}

// tlsFacts describe a TLS handshake with a server.
type tlsFacts struct {
	Version  string    `json:"version"` // "TLS 1.3"
	Subject  string    `json:"subject"` // of the server certificate
	Issuer   string    `json:"issuer"`
	NotAfter time.Time `json:"not_after"`
}

// prefixFacts describe the registry's root znode.
type prefixFacts struct {
	Path     string   `json:"path"`   // chroot + prefix
	Exists   bool     `json:"exists"` // false also when it could not be read
	Services int      `json:"services"`
	ACL      []string `json:"acl"` // scheme:id:perms, e.g. "world:anyone:cdrwa"
}

func (a *app) doctor(cCtx *cli.Context) error {
	if err := a.checkArgs(cCtx, 0, 0, "arguments"); err != nil {
		return err
	}
	format, err := a.outputFormat(cCtx)
	if err != nil {
		return err
	}
	cfg, err := a.registryFromFlags(cCtx)
	if err != nil {
		return err
	}
	return a.withRegistry(cfg, func(reg registry.Registry) error {
		eng, err := engineOf(reg)
		if err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
		ecfg, err := eng.Config()
		if err != nil {
			return fmt.Errorf("doctor: %w", err)
		}
		d := &doctor{
			cfg:  ecfg,
			root: eng,
			now:  a.now,
			probeSession: func(ctx context.Context, server string) (time.Duration, error) {
				return engine.ProbeSession(ctx, ecfg, server)
			},
		}
		report := d.run(cCtx.Context)
		if err := cCtx.Context.Err(); err != nil {
			return fmt.Errorf("doctor: %w", err) // interrupted: the checks were cut short
		}
		if format == outputJSON {
			err = writeJSON(a.stdout, report)
		} else {
			err = writeDoctorTable(a, report)
		}
		if err != nil {
			return err
		}
		var failed []string
		for _, c := range report.Checks {
			if c.Verdict == verdictFail {
				failed = append(failed, strings.TrimSpace(c.Server+" "+c.Check))
			}
		}
		if len(failed) > 0 {
			return fmt.Errorf("doctor: %d of %d checks failed: %s", len(failed), len(report.Checks), strings.Join(failed, ", "))
		}
		return nil
	})
}

func writeDoctorTable(a *app, report doctorReport) error {
	rows := make([][]string, 0, len(report.Checks))
	for _, c := range report.Checks {
		verdict := c.Verdict
		if verdict == verdictFail {
			verdict = "FAIL"
		}
		rows = append(rows, []string{field(c.Server), c.Check, verdict, field(c.Detail)})
	}
	return writeTable(a.stdout, []string{"SERVER", "CHECK", "VERDICT", "DETAIL"}, rows)
}

// doctor runs the checks of one registry configuration.
type doctor struct {
	cfg  engine.Config
	root *engine.Registry // the registry on every server
	now  func() time.Time
	// probeSession opens a session with one server alone and returns the
	// session timeout it granted.
	probeSession func(ctx context.Context, server string) (time.Duration, error)
}

// run checks every server at once, and the registry's prefix on the root
// registry, each bounded by the configured timeout.
func (d *doctor) run(ctx context.Context) doctorReport {
	servers := d.cfg.Servers()
	facts := make([]serverFacts, len(servers))
	checks := make([][]doctorCheck, len(servers))
	var prefix prefixFacts
	var prefixChecks []doctorCheck
	var wg sync.WaitGroup
	for i, server := range servers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			facts[i], checks[i] = d.checkServer(ctx, server)
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		prefix, prefixChecks = d.checkPrefix(ctx)
	}()
	wg.Wait()

	report := doctorReport{Servers: facts, Prefix: prefix}
	for _, c := range checks {
		report.Checks = append(report.Checks, c...)
	}
	report.Checks = append(report.Checks, ensembleChecks(facts)...)
	report.Checks = append(report.Checks, prefixChecks...)
	report.Checks = append(report.Checks, d.credentialsCheck())
	report.Verdict = verdictOK
	for _, c := range report.Checks {
		report.Verdict = worse(report.Verdict, c.Verdict)
	}
	return report
}

// worse returns the worse of two verdicts.
func worse(a, b string) string {
	rank := map[string]int{verdictOK: 0, verdictWarn: 1, verdictFail: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// checkServer checks one server: a TCP connection, the TLS handshake when
// TLS is configured, then on that connection srvr, and meanwhile a session
// with the server alone.
func (d *doctor) checkServer(ctx context.Context, server string) (serverFacts, []doctorCheck) {
	facts := serverFacts{Address: server}
	var checks []doctorCheck
	add := func(check, verdict, format string, args ...any) {
		checks = append(checks, doctorCheck{Server: server, Check: check, Verdict: verdict, Detail: fmt.Sprintf(format, args...)})
	}
	timeout := d.cfg.Timeout()
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	dialer := net.Dialer{Timeout: timeout}
	raw, err := dialer.DialContext(dctx, "tcp", server)
	if err != nil {
		add(checkReachable, verdictFail, "%v", err)
		return facts, checks
	}
	facts.Reachable = true
	add(checkReachable, verdictOK, "TCP connection established")
	conn := raw
	defer func() { _ = conn.Close() }()

	if d.cfg.Secure() {
		tconn, tf, verdict, detail := d.handshake(dctx, raw, server)
		add(checkTLS, verdict, "%s", detail)
		if tconn == nil {
			return facts, checks
		}
		conn, facts.TLS = tconn, tf
	}

	// srvr and the session, at once: each may take the whole timeout
	// with a server that accepts connections but does not answer.
	var answer srvrAnswer
	var srvrErr error
	var granted time.Duration
	var sessionErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		answer, srvrErr = askSrvr(dctx, conn)
	}()
	go func() {
		defer wg.Done()
		granted, sessionErr = d.session(ctx, server)
	}()
	wg.Wait()

	checks = append(checks, judgeSrvr(&facts, answer, srvrErr)...)
	checks = append(checks, judgeSession(&facts, granted, d.cfg.SessionTimeout(), sessionErr))
	return facts, checks
}

// judgeSrvr records what a server answered to srvr (err: it did not) in
// facts, and returns the version and mode checks.
func judgeSrvr(facts *serverFacts, answer srvrAnswer, err error) []doctorCheck {
	var checks []doctorCheck
	add := func(check, verdict, format string, args ...any) {
		checks = append(checks, doctorCheck{Server: facts.Address, Check: check, Verdict: verdict, Detail: fmt.Sprintf(format, args...)})
	}
	switch {
	case err != nil:
		add(checkVersion, verdictFail, "%v", err)
		return checks
	case answer.refusal != "":
		add(checkVersion, verdictWarn, "unknown: %s (allow srvr in 4lw.commands.whitelist to check versions and modes)", answer.refusal)
		return checks
	case !answer.serving:
		facts.answered = true
		add(checkMode, verdictFail, "not serving requests: the server is not part of a quorum")
		return checks
	}
	facts.Version, facts.Mode, facts.Serving, facts.answered = answer.version, answer.mode, true, true
	containers, known := versionAtLeast(answer.version, 3, 6)
	facts.ContainerZnodes = containers
	switch {
	case !known:
		add(checkVersion, verdictWarn, "%q: not a version zkmicro can read", answer.version)
	case containers:
		add(checkVersion, verdictOK, "%s: container znodes supported", answer.version)
	default:
		add(checkVersion, verdictWarn, "%s: no container znodes (ZooKeeper 3.6 or later): empty service directories stay until deleted by hand", answer.version)
	}
	if answer.mode == "" {
		add(checkMode, verdictWarn, "not said in the answer to srvr")
	} else {
		add(checkMode, verdictOK, "%s", answer.mode)
	}
	return checks
}

// judgeSession records the session timeout a server granted (err: no
// session) in facts, and returns the session check.
func judgeSession(facts *serverFacts, granted, asked time.Duration, err error) doctorCheck {
	c := doctorCheck{Server: facts.Address, Check: checkSession, Verdict: verdictOK}
	switch {
	case err != nil:
		c.Verdict, c.Detail = verdictFail, err.Error()
	case granted == 0:
		c.Verdict, c.Detail = verdictWarn, "established, but the granted timeout is unknown"
	case granted != asked:
		facts.SessionTimeout = granted.String()
		c.Verdict = verdictWarn
		c.Detail = fmt.Sprintf("timeout %s granted, %s asked: the server clamps it to its minSessionTimeout..maxSessionTimeout; nodes of a crashed process stay %s", granted, asked, granted)
	default:
		facts.SessionTimeout = granted.String()
		c.Detail = fmt.Sprintf("timeout %s granted, as asked", granted)
	}
	return c
}

// handshake runs the TLS handshake on raw as the registry would, and
// returns the TLS connection (nil if the handshake failed), what it showed
// and the check's verdict and detail.
func (d *doctor) handshake(ctx context.Context, raw net.Conn, server string) (*tls.Conn, *tlsFacts, string, string) {
	cfg, err := d.cfg.TLSConfig()
	if err != nil {
		return nil, nil, verdictFail, err.Error()
	}
	if cfg == nil {
		cfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if cfg.ServerName == "" {
		if host, _, err := net.SplitHostPort(server); err == nil {
			cfg.ServerName = host
		}
	}
	conn := tls.Client(raw, cfg)
	if err := conn.HandshakeContext(ctx); err != nil {
		return nil, nil, verdictFail, fmt.Sprintf("handshake: %v", err)
	}
	state := conn.ConnectionState()
	if len(state.PeerCertificates) == 0 {
		return conn, nil, verdictWarn, tls.VersionName(state.Version) + ", without a server certificate"
	}
	cert := state.PeerCertificates[0]
	facts := &tlsFacts{
		Version:  tls.VersionName(state.Version),
		Subject:  cert.Subject.String(),
		Issuer:   cert.Issuer.String(),
		NotAfter: cert.NotAfter.UTC(),
	}
	left := cert.NotAfter.Sub(d.now())
	detail := fmt.Sprintf("%s, certificate %s issued by %s, expires %s (in %s)",
		facts.Version, facts.Subject, facts.Issuer, facts.NotAfter.Format(time.RFC3339), roundDuration(left))
	if left < certificateWarning {
		return conn, facts, verdictWarn, detail + ": renew it"
	}
	return conn, facts, verdictOK, detail
}

// roundDuration is d to the hour above a day, to the second below.
func roundDuration(d time.Duration) time.Duration {
	if d > 24*time.Hour {
		return d.Round(time.Hour)
	}
	return d.Round(time.Second)
}

// session opens a session with server alone and returns the timeout it
// granted.
func (d *doctor) session(ctx context.Context, server string) (time.Duration, error) {
	return d.probeSession(ctx, server)
}

// ensembleChecks judge the servers together: one ensemble with a quorum
// and one leader, or one standalone server.
func ensembleChecks(facts []serverFacts) []doctorCheck {
	check := func(verdict, format string, args ...any) []doctorCheck {
		return []doctorCheck{{Check: checkEnsemble, Verdict: verdict, Detail: fmt.Sprintf(format, args...)}}
	}
	var leaders, serving, answered, standalone []string
	for _, f := range facts {
		if f.answered {
			answered = append(answered, f.Address)
		}
		if f.answered && f.Serving {
			serving = append(serving, f.Address)
		}
		switch f.Mode {
		case "leader":
			leaders = append(leaders, f.Address)
		case "standalone":
			standalone = append(standalone, f.Address)
		}
	}
	n := len(facts)
	switch {
	case len(answered) == 0:
		return check(verdictFail, "no server answered srvr")
	case n == 1 && len(standalone) == 1:
		return check(verdictOK, "one standalone server")
	case n == 1:
		return check(verdictWarn, "one member of an ensemble listed: list every member in --registry_address so that clients fail over")
	case len(standalone) > 0:
		verb := "is"
		if len(standalone) > 1 {
			verb = "are"
		}
		return check(verdictFail, "%s %s standalone, yet %d addresses are listed: they are not one ensemble, and clients would see different registries", strings.Join(standalone, ", "), verb, n)
	case len(serving) <= n/2:
		return check(verdictFail, "%d of %d servers serving: no quorum (or an election under way)", len(serving), n)
	case len(leaders) == 0:
		return check(verdictFail, "no leader among %d servers", n)
	case len(leaders) > 1:
		return check(verdictFail, "%d leaders (%s): the addresses mix ensembles", len(leaders), strings.Join(leaders, ", "))
	case len(serving) < n:
		return check(verdictWarn, "%d of %d servers serving, leader %s: the quorum holds, with less margin", len(serving), n, leaders[0])
	}
	return check(verdictOK, "%d of %d servers serving, leader %s", len(serving), n, leaders[0])
}

// checkPrefix reads the registry's root and its ACL on the root registry.
func (d *doctor) checkPrefix(ctx context.Context) (prefixFacts, []doctorCheck) {
	root := d.cfg.Root()
	facts := prefixFacts{Path: root, ACL: []string{}}
	fail := func(check string, err error) (prefixFacts, []doctorCheck) {
		return facts, []doctorCheck{{Check: check, Verdict: verdictFail, Detail: err.Error()}}
	}
	info, err := d.root.Root(ctx)
	switch {
	case err != nil:
		return fail(checkPrefix, err)
	case !info.Exists:
		return facts, []doctorCheck{{Check: checkPrefix, Verdict: verdictOK,
			Detail: root + " does not exist yet: the first registration creates it"}}
	}
	facts.Exists, facts.Services = true, info.Services
	checks := []doctorCheck{{Check: checkPrefix, Verdict: verdictOK, Detail: fmt.Sprintf("%s exists, %d services", root, info.Services)}}
	if info.ACLErr != nil {
		checks = append(checks, doctorCheck{Check: checkACL, Verdict: verdictWarn, Detail: fmt.Sprintf("read the ACL of %s: %v", root, info.ACLErr)})
		return facts, checks
	}
	acl := info.ACL
	for _, e := range acl {
		facts.ACL = append(facts.ACL, formatACL(e))
	}
	verdict, detail := judgeACL(root, acl, d.cfg.Authenticated())
	return facts, append(checks, doctorCheck{Check: checkACL, Verdict: verdict, Detail: detail})
}

// judgeACL says whether the ACL of the registry's root suits a client with
// or without credentials.
func judgeACL(root string, acl []zk.ACL, authenticated bool) (verdict, detail string) {
	var text []string
	var worldPerms int32
	for _, e := range acl {
		text = append(text, formatACL(e))
		if e.Scheme == "world" && e.ID == "anyone" {
			worldPerms |= e.Perms
		}
	}
	list := strings.Join(text, ",")
	const open = zk.PermWrite | zk.PermDelete | zk.PermAdmin
	switch {
	case authenticated && worldPerms&open != 0:
		return verdictWarn, fmt.Sprintf("%s: anyone may %s %s although this registry uses credentials (it was created without them, perhaps by the older plugin): restrict it to the registry's identity plus world:anyone:cr, e.g. setAcl %s auth::cdrwa,world:anyone:cr after addauth",
			list, permVerbs(worldPerms&open), root, root)
	case !authenticated && worldPerms&zk.PermCreate == 0:
		return verdictWarn, fmt.Sprintf("%s: clients without credentials may not create services under %s: set %s", list, root, engine.EnvAuth)
	case !authenticated:
		return verdictOK, list + ": open to every client (no credentials configured)"
	}
	return verdictOK, list
}

// formatACL is an ACL entry as ZooKeeper's CLI prints it: scheme:id:perms.
func formatACL(e zk.ACL) string {
	var perms strings.Builder
	for _, p := range []struct {
		bit    int32
		letter byte
	}{{zk.PermCreate, 'c'}, {zk.PermDelete, 'd'}, {zk.PermRead, 'r'}, {zk.PermWrite, 'w'}, {zk.PermAdmin, 'a'}} {
		if e.Perms&p.bit != 0 {
			perms.WriteByte(p.letter)
		}
	}
	return e.Scheme + ":" + e.ID + ":" + perms.String()
}

// permVerbs names permissions in words: "write, delete and administer".
func permVerbs(perms int32) string {
	var verbs []string
	for _, p := range []struct {
		bit  int32
		verb string
	}{{zk.PermCreate, "create"}, {zk.PermRead, "read"}, {zk.PermWrite, "write"}, {zk.PermDelete, "delete"}, {zk.PermAdmin, "administer"}} {
		if perms&p.bit != 0 {
			verbs = append(verbs, p.verb)
		}
	}
	if len(verbs) < 2 {
		return strings.Join(verbs, "")
	}
	return strings.Join(verbs[:len(verbs)-1], ", ") + " and " + verbs[len(verbs)-1]
}

// credentialsCheck says whether credentials are configured and how they
// travel: ZooKeeper's digest scheme sends the password as it is.
func (d *doctor) credentialsCheck() doctorCheck {
	c := doctorCheck{Check: checkCredentials, Verdict: verdictOK}
	switch {
	case !d.cfg.Authenticated():
		c.Detail = "none configured (" + engine.EnvAuth + ")"
	case d.cfg.Secure():
		c.Detail = "configured, sent over TLS"
	default:
		c.Verdict = verdictWarn
		c.Detail = "configured, sent in clear text: ZooKeeper's digest scheme sends the password as it is; configure TLS (" + engine.EnvTLS + "_*)"
	}
	return c
}
