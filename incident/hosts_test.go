package incident

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trendwatch/trendwatch/alert"
)

func TestRestricted(t *testing.T) {
	tests := []struct {
		addr string
		want string // "" for public
	}{
		{"169.254.169.254", "link-local"}, // cloud metadata
		{"169.254.0.1", "link-local"},
		{"fe80::1", "link-local"},
		{"fe80::1%eth0", "link-local"},
		{"::ffff:169.254.169.254", "link-local"},
		{"64:ff9b::a9fe:a9fe", "link-local"}, // NAT64 of 169.254.169.254
		{"ff02::1", "link-local"},
		{"127.0.0.1", "loopback"},
		{"127.255.255.254", "loopback"},
		{"::1", "loopback"},
		{"::ffff:127.0.0.1", "loopback"},
		{"10.0.0.1", "private"},
		{"10.255.255.255", "private"},
		{"172.16.0.1", "private"},
		{"172.31.255.255", "private"},
		{"192.168.1.1", "private"},
		{"fc00::1", "private"},
		{"fd12:3456::1", "private"},
		{"fec0::1", "private"},
		{"100.64.0.1", "shared (100.64.0.0/10)"},
		{"100.127.255.255", "shared (100.64.0.0/10)"},
		{"0.0.0.0", "unspecified"},
		{"0.1.2.3", "unspecified"},
		{"::", "unspecified"},
		{"224.0.0.1", "link-local"},
		{"239.1.2.3", "multicast or broadcast"},
		{"255.255.255.255", "multicast or broadcast"},
		{"ff05::1", "multicast or broadcast"},
		// Just outside the ranges: public.
		{"172.15.255.255", ""},
		{"172.32.0.0", ""},
		{"192.169.0.1", ""},
		{"100.63.255.255", ""},
		{"100.128.0.0", ""},
		{"169.253.255.255", ""},
		{"11.0.0.1", ""},
		{"8.8.8.8", ""},
		{"2606:4700:4700::1111", ""},
		{"64:ff9b::808:808", ""}, // NAT64 of 8.8.8.8
	}
	for _, tt := range tests {
		if got := restricted(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("restricted(%s) = %q, want %q", tt.addr, got, tt.want)
		}
	}
}

func TestHostPolicyCheckAddr(t *testing.T) {
	u, _ := url.Parse("https://hooks.example.org/x")
	p, err := newHostPolicy([]string{"hooks.example.org", "10.0.0.0/8", "192.168.1.7", "[fd00::7]:8443"}, u)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		addr string
		ok   bool
	}{
		{"8.8.8.8", true},
		{"10.20.30.40", true},        // in a listed range
		{"::ffff:10.20.30.40", true}, // the same, IPv4-mapped
		{"192.168.1.7", true},        // listed address
		{"192.168.1.8", false},
		{"fd00::7", true}, // listed with a port: the address is listed
		{"fd00::8", false},
		{"169.254.169.254", false},
		{"127.0.0.1", false},
		{"::1", false},
		{"100.64.1.1", false},
		{"0.0.0.0", false},
	}
	for _, tt := range tests {
		err := p.checkAddr("incident.allowed_hosts", "hooks.example.org", netip.MustParseAddr(tt.addr))
		if (err == nil) != tt.ok {
			t.Errorf("checkAddr(%s) = %v, want ok %v", tt.addr, err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "hooks.example.org resolved to "+netip.MustParseAddr(tt.addr).Unmap().String()) {
			t.Errorf("checkAddr(%s) = %q, want it to name the host and the address", tt.addr, err)
		}
	}
}

// TestDialRefusesRestrictedAddresses dials through the transport's DialContext:
// a host name that is allowed but resolves to a loopback address is refused at
// the address, as a DNS rebinding to 169.254.169.254 would be.
func TestDialRefusesRestrictedAddresses(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	u, _ := url.Parse("http://localhost:" + port + "/hook")
	tests := []struct {
		name    string
		allowed []string
		addr    string
		wantErr string // substring; "" to connect
	}{
		{"name listed, address not", []string{"localhost"}, "localhost:" + port, "incident.allowed_hosts: host localhost resolved to "},
		{"name and address listed", []string{"localhost", "127.0.0.1", "::1"}, "localhost:" + port, ""},
		{"name and range listed", []string{"localhost:" + port, "127.0.0.0/8", "::1/128"}, "localhost:" + port, ""},
		{"range only, dialled by address", []string{"127.0.0.0/8"}, "127.0.0.1:" + port, ""},
		{"empty list: only the URL's host", nil, "127.0.0.1:" + port, "incident.allowed_hosts: host 127.0.0.1:" + port + " is not the host of incident.url"},
		{"empty list: URL's host, loopback refused", nil, "localhost:" + port, "resolved to "},
		{"listed with another port", []string{"localhost:1", "127.0.0.1:1"}, "localhost:" + port, "not in incident.allowed_hosts [localhost:1 127.0.0.1:1]"},
		{"address literal, not listed", []string{"localhost"}, "127.0.0.1:" + port, "not in incident.allowed_hosts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newHostPolicy(tt.allowed, u)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			conn, err := p.dialContext()(ctx, "tcp", tt.addr)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("dial %s: %v", tt.addr, err)
				}
				conn.Close()
				return
			}
			if err == nil {
				conn.Close()
				t.Fatalf("dial %s connected; want %q", tt.addr, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("dial %s: %v; want %q", tt.addr, err, tt.wantErr)
			}
		})
	}
}

// TestNotifierRefusesResolvedLoopback runs a whole delivery to a host name that is
// allowed but resolves to loopback: nothing reaches the endpoint until the
// address is listed too.
func TestNotifierRefusesResolvedLoopback(t *testing.T) {
	key, _ := parseSecret(testSecret)
	rc := newReceiver(t, key)
	_, port, _ := net.SplitHostPort(rc.srv.Listener.Addr().String())
	for _, tt := range []struct {
		allowed   []string
		delivered bool
	}{
		{[]string{"localhost"}, false},
		{[]string{"localhost", "127.0.0.1"}, true},
	} {
		cfg := testConfig("http://localhost:" + port + "/hook")
		cfg.AllowedHosts = tt.allowed
		cfg.MaxAttempts = 2
		var logs bytes.Buffer
		reg := prometheus.NewRegistry()
		s, err := New(cfg, slog.New(slog.NewTextHandler(&logs, nil)), reg)
		if err != nil {
			t.Fatal(err)
		}
		s.Start(context.Background())
		ev := transition("surge|hashtag:x", uint64(len(tt.allowed)), alert.StatusOpen, alert.SeverityHigh)
		if err := s.Notify(context.Background(), []alert.Event{ev}); err != nil {
			t.Fatal(err)
		}
		drain(t, s, 5*time.Second)
		s.Close()
		got := len(rc.requests(messageID(ev.ID())))
		if tt.delivered {
			if got != 1 || testutil.ToFloat64(s.m.deliveries.WithLabelValues(resultDelivered)) != 1 {
				t.Fatalf("allowed %v: %d requests, want one delivery; log:\n%s", tt.allowed, got, logs.String())
			}
			continue
		}
		if got != 0 {
			t.Fatalf("allowed %v: the endpoint got %d requests", tt.allowed, got)
		}
		if n := testutil.ToFloat64(s.m.deliveries.WithLabelValues(resultExhausted)); n != 1 {
			t.Errorf("allowed %v: deliveries_total{result=exhausted} = %v, want 1", tt.allowed, n)
		}
		if !strings.Contains(logs.String(), "resolved to 127.0.0.1, a loopback address") {
			t.Errorf("allowed %v: the log does not say why:\n%s", tt.allowed, logs.String())
		}
	}
}
