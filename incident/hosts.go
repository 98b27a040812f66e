package incident

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// hostPolicy is where the notifier may connect. A page carries alert samples and,
// for PagerDuty, the routing key, so a URL pointing inside the network (a cloud
// metadata service, an admin port on localhost) must not be reachable by a
// config mistake or by a DNS answer that changes after start-up.
//
// The rules, checked on the configured URL by Validate and again on every
// connection the HTTP transport opens:
//   - the host (and port, where the entry names one) must match
//     incident.allowed_hosts; when that is empty, the URL's own host and port
//     are the only ones allowed;
//   - every address dialled must be public: loopback, link-local, private,
//     shared (100.64.0.0/10), unspecified, multicast and broadcast addresses
//     are refused unless incident.allowed_hosts lists the address itself or a
//     CIDR range holding it. A host name in the list never vouches for the
//     addresses it resolves to: that is what DNS rebinding exploits.
type hostPolicy struct {
	names    []hostEntry
	prefixes []netip.Prefix // addresses and ranges listed in incident.allowed_hosts
	listed   []string       // incident.allowed_hosts as configured, for errors
}

// hostEntry matches a host name or IP literal; port "" matches any port.
type hostEntry struct{ host, port string }

// newHostPolicy parses incident.allowed_hosts; u is the configured URL, whose
// host alone is allowed when the list is empty.
func newHostPolicy(allowed []string, u *url.URL) (*hostPolicy, error) {
	p := &hostPolicy{listed: allowed}
	for _, raw := range allowed {
		e := strings.ToLower(strings.TrimSpace(raw))
		if e == "" {
			return nil, errors.New("incident.allowed_hosts: empty entry")
		}
		if strings.Contains(e, "/") {
			pfx, err := netip.ParsePrefix(e)
			if err != nil {
				return nil, fmt.Errorf("incident.allowed_hosts: %q is not a CIDR range: %w", raw, err)
			}
			p.prefixes = append(p.prefixes, pfx.Masked())
			continue
		}
		host, port := e, ""
		if h, pt, err := net.SplitHostPort(e); err == nil {
			if n, err := strconv.Atoi(pt); err != nil || n < 1 || n > 65535 {
				return nil, fmt.Errorf("incident.allowed_hosts: %q has no valid port", raw)
			}
			host, port = h, pt
		} else {
			host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
		}
		if host == "" || strings.ContainsAny(host, " \t@/?#[]") {
			return nil, fmt.Errorf("incident.allowed_hosts: %q is not a host, host:port or CIDR range", raw)
		}
		if ip, err := netip.ParseAddr(host); err == nil {
			ip = ip.WithZone("").Unmap()
			host = ip.String()
			p.prefixes = append(p.prefixes, netip.PrefixFrom(ip, ip.BitLen()))
		}
		p.names = append(p.names, hostEntry{host: host, port: port})
	}
	if len(allowed) == 0 {
		host, port := canonicalHost(u.Hostname()), u.Port()
		if port == "" {
			port = defaultPort(u.Scheme)
		}
		p.names = []hostEntry{{host: host, port: port}}
	}
	return p, nil
}

func defaultPort(scheme string) string {
	if strings.EqualFold(scheme, "http") {
		return "80"
	}
	return "443"
}

// canonicalHost lower-cases a host name and writes an IP literal the one way
// netip does, so "::FFFF:7f00:1" and "127.0.0.1" compare equal.
func canonicalHost(h string) string {
	h = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	if ip, err := netip.ParseAddr(h); err == nil {
		return ip.WithZone("").Unmap().String()
	}
	return h
}

// checkHost reports whether the notifier may connect to host:port at all, before
// any name is resolved. key names the config key the error is about.
func (p *hostPolicy) checkHost(key, host, port string) error {
	h := canonicalHost(host)
	matched := false
	for _, e := range p.names {
		if e.host == h && (e.port == "" || e.port == port) {
			matched = true
			break
		}
	}
	ip, err := netip.ParseAddr(h)
	isIP := err == nil
	if !matched && isIP {
		// An IP literal may also fall in a listed range.
		matched = p.listedAddr(ip)
	}
	if !matched {
		if len(p.listed) == 0 {
			return fmt.Errorf("%s: host %s is not the host of incident.url, and incident.allowed_hosts is empty", key, net.JoinHostPort(host, port))
		}
		return fmt.Errorf("%s: host %s not in incident.allowed_hosts %v", key, net.JoinHostPort(host, port), p.listed)
	}
	if isIP {
		return p.checkAddr(key, host, ip)
	}
	return nil
}

// checkAddr refuses an address in a restricted range unless it is listed.
func (p *hostPolicy) checkAddr(key, host string, ip netip.Addr) error {
	kind := restricted(ip)
	if kind == "" || p.listedAddr(ip) {
		return nil
	}
	addr := ip.WithZone("").Unmap().String()
	if canonicalHost(host) == addr {
		return fmt.Errorf("%s: host %s is %s address; list it in incident.allowed_hosts to send there", key, addr, article(kind))
	}
	return fmt.Errorf("%s: host %s resolved to %s, %s address; list the address or its range in incident.allowed_hosts to send there", key, host, addr, article(kind))
}

func article(kind string) string {
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}

func (p *hostPolicy) listedAddr(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	for _, pfx := range p.prefixes {
		if pfx.Contains(ip) {
			return true
		}
	}
	return false
}

var (
	sharedRange = netip.MustParsePrefix("100.64.0.0/10") // carrier-grade NAT, RFC 6598
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")     // Linux dials 0.0.0.0 as localhost
	siteLocal   = netip.MustParsePrefix("fec0::/10")     // deprecated, still routed privately
	nat64       = netip.MustParsePrefix("64:ff9b::/96")  // embeds an IPv4 address, RFC 6052
	broadcast   = netip.AddrFrom4([4]byte{255, 255, 255, 255})
)

// restricted names the kind of a non-public address, or returns "" for a public one.
// IPv4-mapped and NAT64 addresses are judged by the IPv4 address they carry, since
// that is where the packets end up.
func restricted(ip netip.Addr) string {
	ip = ip.WithZone("").Unmap()
	switch {
	case !ip.IsValid():
		return "invalid"
	case ip.IsUnspecified(), ip.Is4() && thisNetwork.Contains(ip):
		return "unspecified"
	case ip.IsLoopback():
		return "loopback"
	case ip.IsLinkLocalUnicast(), ip.IsLinkLocalMulticast():
		return "link-local"
	case ip.IsPrivate(), siteLocal.Contains(ip):
		return "private"
	case sharedRange.Contains(ip):
		return "shared (100.64.0.0/10)"
	case ip.IsMulticast(), ip.IsInterfaceLocalMulticast(), ip == broadcast:
		return "multicast or broadcast"
	case nat64.Contains(ip):
		b := ip.As16()
		return restricted(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}))
	}
	return ""
}

// dialContext is the transport's DialContext: it checks the host before
// resolving it and every resolved address in the dialer's Control hook, which
// runs after resolution and before connect, so the address checked is the
// address connected to, whatever DNS answered.
func (p *hostPolicy) dialContext() func(ctx context.Context, network, addr string) (net.Conn, error) {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, fmt.Errorf("incident.allowed_hosts: dial %s: %w", addr, err)
		}
		if err := p.checkHost("incident.allowed_hosts", host, port); err != nil {
			return nil, err
		}
		d := net.Dialer{
			// As http.DefaultTransport's dialer.
			Timeout:   30 * time.Second,
			KeepAlive: 30 * time.Second,
			Control: func(_, address string, _ syscall.RawConn) error {
				ap, err := netip.ParseAddrPort(address)
				if err != nil {
					return fmt.Errorf("incident.allowed_hosts: cannot check dialled address %s: %w", address, err)
				}
				return p.checkAddr("incident.allowed_hosts", host, ap.Addr())
			},
		}
		return d.DialContext(ctx, network, addr)
	}
}
