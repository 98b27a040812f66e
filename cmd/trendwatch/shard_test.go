package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trendwatch/trendwatch/config"
	"github.com/trendwatch/trendwatch/ingest"
)

func TestApplyShard(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	tests := []struct {
		flag    string
		set     func(*config.Config) // configuration file or environment
		wantErr string
		group   string // "" unchanged
		dir     string // shard directory under checkpoint.dir and parquet.dir
		relay   string // the relay topic a detect process reads
	}{
		{flag: ""},
		{flag: "0/1"},
		{flag: "1/3", group: ".shard-1-of-3", dir: "shard-1-of-3"},
		{flag: " 2 / 3 ", group: ".shard-2-of-3", dir: "shard-2-of-3"},
		{set: func(c *config.Config) { c.Pipeline.Shard, c.Pipeline.Shards = 0, 2 }, group: ".shard-0-of-2", dir: "shard-0-of-2"},
		{flag: "3/3", wantErr: "want 0 <= I < N"},
		{flag: "-1/3", wantErr: "want 0 <= I < N"},
		{flag: "1/65", wantErr: "want 0 <= I < N <= 64"},
		{flag: "1", wantErr: "want I/N"},
		{flag: "a/b", wantErr: "want I/N"},
		{set: func(c *config.Config) { c.Pipeline.Shard, c.Pipeline.Shards = 2, 2 }, wantErr: "pipeline.shard"},
		{set: func(c *config.Config) { c.Pipeline.Shards = 0 }, wantErr: "pipeline.shards"},
		// The two stages: a detect shard reads its relay topic.
		{flag: "1/2", set: func(c *config.Config) { c.Pipeline.Role = "detect" }, group: ".detect-1-of-2", dir: "detect-1-of-2", relay: "trendwatch-relay.shard-1-of-2"},
		{flag: "0/1", set: func(c *config.Config) { c.Pipeline.Role = "detect" }, group: ".detect-0-of-1", dir: "detect-0-of-1", relay: "trendwatch-relay.shard-0-of-1"},
		{set: func(c *config.Config) { c.Pipeline.Role, c.Pipeline.Shards = "aggregate", 3 }, group: ".aggregate-of-3", dir: "aggregate-of-3"},
		{set: func(c *config.Config) { c.Pipeline.Role, c.Pipeline.Shard, c.Pipeline.Shards = "aggregate", 1, 3 }, wantErr: "set pipeline.shards (--shards N) alone"},
		{set: func(c *config.Config) { c.Pipeline.Role = "detector" }, wantErr: `pipeline.role: want all, aggregate or detect, got "detector"`},
	}
	for _, tt := range tests {
		d := config.Default()
		cfg := &d
		cfg.Pipeline.Instance = "host"
		if tt.set != nil {
			tt.set(cfg)
		}
		group, ck, pq := cfg.Kafka.Group, cfg.Checkpoint.Dir, cfg.Parquet.Dir
		err := applyShard(cfg, tt.flag, log)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%q: got %v, want an error saying %q", tt.flag, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tt.flag, err)
			continue
		}
		wantCk, wantPq, wantInstance := ck, pq, "host"
		if tt.dir != "" {
			wantCk, wantPq, wantInstance = filepath.Join(ck, tt.dir), filepath.Join(pq, tt.dir), "host/"+tt.dir
		}
		if cfg.Kafka.ReadRelay != tt.relay {
			t.Errorf("%q: reads relay %q, want %q", tt.flag, cfg.Kafka.ReadRelay, tt.relay)
		}
		if cfg.Kafka.Group != group+tt.group || cfg.Checkpoint.Dir != wantCk || cfg.Parquet.Dir != wantPq || cfg.Pipeline.Instance != wantInstance {
			t.Errorf("%q: group %q, checkpoint %q, parquet %q, instance %q", tt.flag, cfg.Kafka.Group, cfg.Checkpoint.Dir, cfg.Parquet.Dir, cfg.Pipeline.Instance)
		}
	}
}

// TestEveryTerm: a demo or a backtest judges every term whatever the
// configuration says of shards.
func TestEveryTerm(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, shards := range []int{1, 3} {
		d := config.Default()
		cfg := &d
		cfg.Pipeline.Shard, cfg.Pipeline.Shards = shards-1, shards
		cfg.Pipeline.Role = "detect"
		everyTerm(cfg, log, "the demo")
		if cfg.Pipeline.Shard != 0 || cfg.Pipeline.Shards != 1 || cfg.Pipeline.Role != "all" {
			t.Errorf("shards %d: after everyTerm shard %d of %d, role %s, want 0 of 1, all", shards, cfg.Pipeline.Shard, cfg.Pipeline.Shards, cfg.Pipeline.Role)
		}
	}
}

// TestLayoutConflict: a process refuses to start beside another layout of
// its deployment, and only then.
func TestLayoutConflict(t *testing.T) {
	member := ingest.Group{State: "Stable", Members: []ingest.Member{{ID: "m1", Host: "/10.0.0.7"}}}
	tests := []struct {
		name string
		own  string
		live []string
		want string // "" no conflict; else a word of the error
	}{
		{"alone", "tw", nil, ""},
		{"its own group", "tw", []string{"tw"}, ""},
		{"another shard of its layout", "tw.shard-0-of-2", []string{"tw.shard-1-of-2"}, ""},
		{"an unrelated deployment", "tw", []string{"twother", "tw.replay", "tw.shard-x"}, ""},
		{"shards beside a single run", "tw", []string{"tw.shard-1-of-2"}, "term shards of 2"},
		{"a single run beside shards", "tw.shard-0-of-2", []string{"tw"}, "a trendwatch run for every term"},
		{"shards of another N", "tw.shard-0-of-3", []string{"tw.shard-1-of-3", "tw.shard-1-of-2"}, "tw.shard-1-of-2"},
		{"the stages together", "tw.detect-0-of-2", []string{"tw.detect-1-of-2", "tw.aggregate-of-2"}, ""},
		{"an aggregate beside its detect shards", "tw.aggregate-of-2", []string{"tw.detect-0-of-2", "tw.detect-1-of-2"}, ""},
		{"a single run beside the stages", "tw", []string{"tw.aggregate-of-2"}, "two stages with 2 detect shards"},
		{"stages beside a single run", "tw.detect-0-of-1", []string{"tw"}, "a trendwatch run for every term"},
		{"stages beside term shards", "tw.aggregate-of-2", []string{"tw.shard-0-of-2"}, "term shards of 2"},
		{"detect shards of another N", "tw.detect-0-of-2", []string{"tw.aggregate-of-3"}, "tw.aggregate-of-3"},
	}
	for _, tt := range tests {
		live := map[string]ingest.Group{}
		for _, id := range tt.live {
			live[id] = member
		}
		err := layoutConflict("tw", tt.own, live)
		if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: got %v, want %q", tt.name, err, tt.want)
		}
	}
}

// TestCheckRoleFlags: --shards belongs to the aggregate stage and a detect
// process needs its shard; what is refused says what to run instead.
func TestCheckRoleFlags(t *testing.T) {
	tests := []struct {
		role, shard      string
		shardsFlag       bool
		shardConfigured  bool // pipeline.shard or pipeline.shards set
		wantErr, wantAlt string
	}{
		{role: "all"},
		{role: "all", shard: "1/3"},
		{role: "all", shardConfigured: true},
		{role: "aggregate", shardsFlag: true, shardConfigured: true},
		{role: "aggregate"},
		{role: "detect", shard: "1/3"},
		{role: "detect", shardConfigured: true}, // shard and shards from the file or environment
		{role: "all", shardsFlag: true, shardConfigured: true, wantErr: "--shards with --role all", wantAlt: "--role aggregate --shards N"},
		{role: "all", shard: "1/3", shardsFlag: true, shardConfigured: true, wantErr: "--shards with --role all", wantAlt: "--shard I/N alone"},
		{role: "detect", shard: "1/3", shardsFlag: true, shardConfigured: true, wantErr: "--shards with --role detect", wantAlt: "--role detect --shard I/N"},
		{role: "detect", wantErr: "--role detect without --shard I/N", wantAlt: "give --shard I/N"},
		{role: "aggregate", shard: "1/3", wantErr: "--shard \"1/3\" with --role aggregate", wantAlt: "give --shards N"},
	}
	for _, tt := range tests {
		err := checkRoleFlags(tt.role, tt.shard, tt.shardsFlag, tt.shardConfigured)
		name := fmt.Sprintf("role %s, --shard %q, --shards given %v, configured %v", tt.role, tt.shard, tt.shardsFlag, tt.shardConfigured)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), tt.wantAlt)):
			t.Errorf("%s: got %v, want an error saying %q and %q", name, err, tt.wantErr, tt.wantAlt)
		}
	}
}

// TestRunRefusesLayout: run checks the layout flags before it starts
// anything.
func TestRunRefusesLayout(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run", "--shards", "3"}, "--shards with --role all"},
		{[]string{"run", "--role", "detect"}, "--role detect without --shard I/N"},
		{[]string{"run", "--role", "detect", "--shards", "2"}, "--shards with --role detect"},
	}
	for _, tt := range tests {
		cmd := newRoot()
		cmd.SetArgs(tt.args)
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // were the check missing, the pipeline would stop at once
		if err := cmd.ExecuteContext(ctx); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: got %v, want an error saying %q", tt.args, err, tt.want)
		}
	}
}
