package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
)

// One `trendwatch run` must own every partition of both input topics: it
// writes (kind, term, minute) rows with whole counts, joins a content's
// reports to the content, and judges every term on all of its mentions. Two
// members of one group would each see a share and overwrite each other's
// rows, so a process joins only a group without members, and a process that
// finds another member beside it after joining leaves before it has read
// anything. With kafka.standby it waits for the group to empty instead of
// refusing, and takes the partitions over from the committed offsets.

// ErrGroupBusy says the consumer group already has a member.
var ErrGroupBusy = errors.New("consumer group already has a member")

// groupPoll is how often a standby, or a member waiting to see its
// assignment, asks the coordinator about the group.
const groupPoll = time.Second

// Member is one member of a consumer group, as the coordinator describes it.
type Member struct {
	ID, ClientID, Host string
	Assigned           int // partitions assigned
}

func (m Member) String() string {
	return fmt.Sprintf("%s from %s (client %s, %d partitions)", m.ID, m.Host, m.ClientID, m.Assigned)
}

// Group is the state of the consumer group.
type Group struct {
	State   string
	Members []Member
}

// DescribeGroup asks the group's coordinator for its state and members.
func (c Config) DescribeGroup(ctx context.Context) (Group, error) {
	tr, err := c.Transport()
	if err != nil {
		return Group{}, err
	}
	defer tr.CloseIdleConnections()
	cl := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: tr, Timeout: 10 * time.Second}
	resp, err := cl.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{c.Group}})
	if err != nil {
		return Group{}, fmt.Errorf("describe consumer group %s: %w", c.Group, err)
	}
	if len(resp.Groups) != 1 {
		return Group{}, fmt.Errorf("describe consumer group %s: %d groups in the answer", c.Group, len(resp.Groups))
	}
	g := resp.Groups[0]
	if g.Error != nil && !errors.Is(g.Error, kafka.GroupIdNotFound) {
		return Group{}, fmt.Errorf("describe consumer group %s: %w", c.Group, g.Error)
	}
	out := Group{State: g.GroupState}
	for _, m := range g.Members {
		n := 0
		for _, t := range m.MemberAssignments.Topics {
			n += len(t.Partitions)
		}
		out.Members = append(out.Members, Member{ID: m.MemberID, ClientID: m.ClientID, Host: m.ClientHost, Assigned: n})
	}
	return out, nil
}

// busyError says who holds the group and what to run instead.
func (c Config) busyError(g Group) error {
	ms := make([]string, len(g.Members))
	for i, m := range g.Members {
		ms[i] = m.String()
	}
	return fmt.Errorf("%w: group %s (%s) has %d member(s): %s. A second `trendwatch run` in one group "+
		"would split the partitions and overwrite the other's rows with partial counts. Stop the other "+
		"instance, give this one its own kafka.group and checkpoint.dir (a separate copy that pages too), "+
		"start it with --standby (kafka.standby=true) and the same checkpoint.dir on shared storage "+
		"to wait as a hot standby that takes over when the other leaves the group, or, to share the reading "+
		"between processes, run the two stages instead: any number of `trendwatch run --role aggregate --shards N` "+
		"and one `trendwatch run --role detect --shard I/N` for each I (docs/scaling.md)",
		ErrGroupBusy, c.Group, g.State, len(g.Members), strings.Join(ms, "; "))
}

// WaitForGroup returns once the consumer group has no member, so that this
// process may join it alone. A member of a process that was killed stays in
// the group until the coordinator drops it, kafka.session_timeout after its
// last heartbeat, so a restart after a crash waits that long; a member still
// there after it is alive. Without kafka.standby that is an error saying what
// to run instead; with it, the process waits as a hot standby, calling
// standby once, until the members have left (a clean stop leaves at once).
func (c Config) WaitForGroup(ctx context.Context, log *slog.Logger, standby func(Group)) error {
	var since time.Time // when members were first seen
	announced, described := false, false
	began := time.Now()
	for {
		g, err := c.DescribeGroup(ctx)
		if err == nil {
			described = true
		}
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return ctx.Err()
			}
			// A broker that has just started may not have a coordinator
			// yet; one that refuses or never answers at start-up is a wrong
			// address. Once the group has been described, the brokers are
			// the right ones: a standby rides out their restart, as the
			// owner it waits on does, rather than exit at the first error.
			if !described && (Refused(err) || (c.StartupTimeout > 0 && time.Since(began) > c.StartupTimeout)) {
				return err
			}
			log.Warn("could not describe the consumer group; retrying", "group", c.Group, "err", err)
		case len(g.Members) == 0:
			if announced {
				log.Info("standby: the consumer group is empty; taking over every partition from its committed offsets",
					"group", c.Group)
			}
			return nil
		case since.IsZero():
			since = time.Now()
			if !c.Standby {
				log.Warn("the consumer group has a member; waiting up to kafka.session_timeout for the coordinator to drop it, as it does a crashed instance's (a live one makes this process exit)",
					"group", c.Group, "state", g.State, "members", g.Members, "kafka.session_timeout", c.SessionTimeout)
			}
		case !c.Standby && time.Since(since) > c.SessionTimeout+2*groupPoll:
			return c.busyError(g)
		}
		if c.Standby && !announced {
			announced = true
			log.Info("standby: another member holds the consumer group; waiting for it to leave (a killed one is dropped after kafka.session_timeout)",
				"group", c.Group, "state", g.State, "members", g.Members, "kafka.session_timeout", c.SessionTimeout)
			if standby != nil {
				standby(g)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(groupPoll):
		}
	}
}

// Acquire waits until the group has assigned this consumer its partitions
// and checks that it is the group's only member, holding every partition of
// both topics. Call it before Run: a consumer that finds another member has
// read nothing yet, and closing it leaves the group without committing. Two
// processes that join at once both find the other and both get ErrGroupBusy:
// neither may count a share. want lists every input partition (nil: do not
// check the count).
func (c *Consumer) Acquire(ctx context.Context, want []Partition) error {
	// A join waits for the group's other members to rejoin, or to be
	// dropped after their session timeout.
	limit := c.cfg.SessionTimeout + 30*time.Second
	deadline := time.Now().Add(limit)
	for {
		if c.Assigned() {
			g, err := c.cfg.DescribeGroup(ctx)
			switch {
			case err != nil:
				// Retried until the deadline: the coordinator may be moving.
				c.log.Debug("could not describe the consumer group; retrying", "group", c.cfg.Group, "err", err)
			case len(g.Members) > 1:
				return c.cfg.busyError(g)
			case len(g.Members) == 1 && g.State == "Stable" && (want == nil || g.Members[0].Assigned == len(want)):
				c.log.Info("sole member of the consumer group; every partition is this instance's",
					"group", c.cfg.Group, "member", g.Members[0].ID, "partitions", g.Members[0].Assigned)
				c.exclusive.Store(true)
				return nil
			}
			// Still rebalancing, or the assignment does not show yet.
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("consumer group %s: no stable assignment of all %d partitions to this member within %v", c.cfg.Group, len(want), limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(groupPoll / 4):
		}
	}
}

// Owns reports an error unless this consumer is still the group's only
// member. The pipeline asks before it saves a checkpoint, and Commit before
// it commits: a process that is not the only member (one that was cut off
// past its session timeout and rejoined beside its standby, an older build
// that joined beside it) must neither move offsets for partitions another
// may own nor overwrite the owner's checkpoint.
func (c *Consumer) Owns(ctx context.Context) error { return c.checkSole(ctx) }

func (c *Consumer) checkSole(ctx context.Context) error {
	if !c.exclusive.Load() {
		return nil // not acquired: a test of the decode path, or no group
	}
	g, err := c.cfg.DescribeGroup(ctx)
	if err != nil {
		return err
	}
	if len(g.Members) <= 1 {
		return nil
	}
	slices.SortFunc(g.Members, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	c.log.Error("another member joined the consumer group; offsets not committed until it leaves", "group", c.cfg.Group, "members", g.Members)
	return c.cfg.busyError(g)
}

// Jitter spreads the retries of processes that lost a race for the group.
func Jitter(d time.Duration) time.Duration { return d/2 + rand.N(d) }

// Committed returns the group's committed offset of each of parts (the
// offset of the next message to read), leaving out those with none.
func (c Config) Committed(ctx context.Context, parts []Partition) (map[Partition]int64, error) {
	tr, err := c.Transport()
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	topics := make(map[string][]int)
	for _, p := range parts {
		topics[p.Topic] = append(topics[p.Topic], p.Partition)
	}
	cl := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: tr, Timeout: 10 * time.Second}
	resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: c.Group, Topics: topics})
	if err == nil {
		err = resp.Error
	}
	if err != nil {
		return nil, fmt.Errorf("fetch committed offsets of group %s: %w", c.Group, err)
	}
	out := make(map[Partition]int64)
	for topic, ps := range resp.Topics {
		for _, p := range ps {
			if p.Error == nil && p.CommittedOffset >= 0 {
				out[Partition{Topic: topic, Partition: p.Partition}] = p.CommittedOffset
			}
		}
	}
	return out, nil
}

// Behind lists the partitions whose committed offset is past what the
// state (offsets: the last offset it counted of each partition) holds: the
// messages between were counted by a process whose state this is not.
func Behind(committed map[Partition]int64, offsets []Offset) []Partition {
	have := make(map[Partition]int64, len(offsets))
	for _, o := range offsets {
		have[Partition{Topic: o.Topic, Partition: o.Partition}] = o.Offset
	}
	var out []Partition
	for p, next := range committed {
		last, ok := have[p]
		if next > 0 && (!ok || next > last+1) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Partition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return a.Partition - b.Partition
	})
	return out
}

// LiveGroups describes the consumer groups named base or base + "." and
// anything, those with members only: the processes of one deployment (a
// single `trendwatch run`, or the term shards of one, whose groups are
// base + ".shard-I-of-N"), so that one can tell whether another layout of
// it is running beside it.
func (c Config) LiveGroups(ctx context.Context, base string) (map[string]Group, error) {
	tr, err := c.Transport()
	if err != nil {
		return nil, err
	}
	defer tr.CloseIdleConnections()
	cl := &kafka.Client{Addr: kafka.TCP(c.Brokers...), Transport: tr, Timeout: 10 * time.Second}
	list, err := cl.ListGroups(ctx, &kafka.ListGroupsRequest{})
	if err != nil {
		return nil, fmt.Errorf("list consumer groups: %w", err)
	}
	if list.Error != nil {
		return nil, fmt.Errorf("list consumer groups: %w", list.Error)
	}
	out := map[string]Group{}
	for _, g := range list.Groups {
		if g.GroupID != base && !strings.HasPrefix(g.GroupID, base+".") {
			continue
		}
		gc := c
		gc.Group = g.GroupID
		d, err := gc.DescribeGroup(ctx)
		if err != nil {
			return nil, err
		}
		if len(d.Members) > 0 {
			out[g.GroupID] = d
		}
	}
	return out, nil
}
