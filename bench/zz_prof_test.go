package bench

import (
	"context"
	"os"
	"runtime/pprof"
	"testing"

	"github.com/trendwatch/trendwatch/detectors"
	"github.com/trendwatch/trendwatch/pipeline"
	"github.com/trendwatch/trendwatch/sketches"
)

func TestZZProf(t *testing.T) {
	stream, err := steadyStream()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var es []*pipeline.Engine
	for i := 0; i < 4; i++ {
		e, err := pipeline.New(pipeline.DefaultConfig(), sketches.DefaultWindowConfig(), detectors.DefaultConfig(), nil, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.ProcessBatch(ctx, stream[0]); err != nil {
			t.Fatal(err)
		}
		es = append(es, e)
	}
	f, _ := os.Create("/tmp/steady.prof")
	defer f.Close()
	pprof.StartCPUProfile(f)
	for _, e := range es {
		if err := e.ProcessBatch(ctx, stream[1]); err != nil {
			t.Fatal(err)
		}
	}
	pprof.StopCPUProfile()
}
