package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trendwatch/trendwatch/sim/broker"
)

// TestOneOwnerPerGroup on the embedded broker: a consumer that acquired the
// group owns it; another process is refused after the session timeout, or
// with Standby waits until the owner leaves and then acquires it.
func TestOneOwnerPerGroup(t *testing.T) {
	_, cfg := startBroker(t)
	cfg.SessionTimeout = 6 * time.Second // the broker's minimum
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)

	owner, err := NewConsumer(cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := owner.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Acquire(ctx, parts); err != nil {
		t.Fatalf("the first consumer of an empty group: %v", err)
	}
	if err := owner.Owns(ctx); err != nil {
		t.Fatalf("the only member: %v", err)
	}

	began := time.Now()
	err = cfg.WaitForGroup(ctx, log, nil)
	if !errors.Is(err, ErrGroupBusy) || !strings.Contains(err.Error(), "--standby") {
		t.Fatalf("a second process: %v, want ErrGroupBusy naming --standby", err)
	}
	if took := time.Since(began); took < cfg.SessionTimeout {
		t.Errorf("refused after %v, before the session timeout %v in which a crashed owner is dropped", took, cfg.SessionTimeout)
	}

	standby := cfg
	standby.Standby = true
	waited := make(chan error, 1)
	announced := make(chan Group, 1)
	go func() { waited <- standby.WaitForGroup(ctx, log, func(g Group) { announced <- g }) }()
	select {
	case g := <-announced:
		if len(g.Members) != 1 || g.Members[0].Assigned != len(parts) {
			t.Errorf("standby saw %v, want one member holding all %d partitions", g.Members, len(parts))
		}
	case err := <-waited:
		t.Fatalf("standby returned while the owner runs: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("standby did not say it waits")
	}
	if err := owner.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatalf("standby after the owner left: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("standby still waits 10 s after the owner left the group")
	}
	next, err := NewConsumer(standby, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	if err := next.Acquire(ctx, parts); err != nil {
		t.Fatalf("standby taking over: %v", err)
	}
}

// TestSimultaneousJoinersDoNotBothOwn: two consumers that join an empty
// group at once: at most one may own it.
func TestSimultaneousJoinersDoNotBothOwn(t *testing.T) {
	_, cfg := startBroker(t)
	cfg.SessionTimeout = 6 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	var cs [2]*Consumer
	for i := range cs {
		c, err := NewConsumer(cfg, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		cs[i] = c
	}
	parts, err := cs[0].Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	for _, c := range cs {
		go func() { errs <- c.Acquire(ctx, parts) }()
	}
	owners := 0
	var got []string
	for range cs {
		err := <-errs
		if err == nil {
			owners++
		} else if !errors.Is(err, ErrGroupBusy) {
			t.Errorf("Acquire: %v, want nil or ErrGroupBusy", err)
		}
		got = append(got, fmt.Sprint(err))
	}
	t.Logf("two joiners at once: %s", strings.Join(got, " | "))
	if owners > 1 {
		t.Fatal("both consumers own the group")
	}
}

// TestBehind: a committed offset past the state's last counted offset + 1,
// or committed for a partition the state never counted, is behind.
func TestBehind(t *testing.T) {
	c0, c1, r0 := Partition{"c", 0}, Partition{"c", 1}, Partition{"r", 0}
	committed := map[Partition]int64{c0: 11, c1: 5, r0: 3}
	tests := []struct {
		name    string
		offsets []Offset
		want    []Partition
	}{
		{"state at the committed offsets", []Offset{{"c", 0, 10}, {"c", 1, 4}, {"r", 0, 2}}, nil},
		{"state ahead (saved, crashed before the commit)", []Offset{{"c", 0, 20}, {"c", 1, 9}, {"r", 0, 2}}, nil},
		{"no state", nil, []Partition{c0, c1, r0}},
		{"one partition behind", []Offset{{"c", 0, 10}, {"c", 1, 3}, {"r", 0, 2}}, []Partition{c1}},
	}
	for _, tt := range tests {
		if got := Behind(committed, tt.offsets); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestLiveGroups on the embedded broker: the groups of one deployment with
// members, and not a group that only shares the name's start nor one whose
// member has left.
func TestLiveGroups(t *testing.T) {
	_, cfg := startBroker(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	join := func(group string) *Consumer {
		t.Helper()
		c := cfg
		c.Group = group
		cons, err := NewConsumer(c, log, nil)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := cons.Partitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if err := cons.Acquire(ctx, parts); err != nil {
			t.Fatalf("%s: %v", group, err)
		}
		return cons
	}
	shard := join("tw.shard-0-of-2")
	defer shard.Close()
	other := join("twother")
	defer other.Close()
	gone := join("tw.shard-1-of-2")
	if err := gone.Close(); err != nil {
		t.Fatal(err)
	}
	live, err := cfg.LiveGroups(ctx, "tw")
	if err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(live))
	if !slices.Equal(got, []string{"tw.shard-0-of-2"}) || len(live["tw.shard-0-of-2"].Members) != 1 {
		t.Errorf("live groups of tw: %v", live)
	}
}

// TestStandbyRidesOutBrokerRestart: a standby that has seen the group waits
// through a restart of the brokers, as the owner does, instead of exiting at
// the first refused connection; a rolling restart used to remove every
// standby.
func TestStandbyRidesOutBrokerRestart(t *testing.T) {
	b, bc, cfg := restartableBroker(t, 2)
	defer func() { b.Close() }()
	cfg.Group = fmt.Sprintf("test-%d", time.Now().UnixNano())
	cfg.SessionTimeout = 6 * time.Second
	cfg.MaxWait = 250 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := slog.New(slog.DiscardHandler)
	owner, err := NewConsumer(cfg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer owner.Close()
	parts, err := owner.Partitions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Acquire(ctx, parts); err != nil {
		t.Fatal(err)
	}
	standby := cfg
	standby.Standby = true
	// Start-up is long over when the brokers go: it bounds only how long a
	// process waits for brokers it has never reached.
	standby.StartupTimeout = time.Second
	wctx, stop := context.WithCancel(ctx)
	defer stop()
	waited := make(chan error, 1)
	announced := make(chan struct{}, 1)
	go func() { waited <- standby.WaitForGroup(wctx, log, func(Group) { announced <- struct{}{} }) }()
	select {
	case <-announced:
	case err := <-waited:
		t.Fatalf("standby returned while the owner runs: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("standby did not say it waits")
	}
	b.Close()
	time.Sleep(2 * time.Second) // refused, again and again
	if b, err = broker.Start(bc, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		t.Fatalf("standby gave up over a broker restart: %v", err)
	case <-time.After(3 * time.Second):
	}
	stop()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Errorf("standby stopped with %v, want its context's end", err)
	}
}
