package nab

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/trendwatch/trendwatch/detectors"
)

func TestDebugDump(t *testing.T) {
	if os.Getenv("NABDUMP") == "" {
		t.Skip()
	}
	for _, name := range tweetFiles {
		ts, v, _ := ReadSeriesFile(filepath.Join(dataDir, name))
		scores, alerts, _ := detectors.RunSeries(detectors.DefaultConfig(), ts, v)
		f, _ := os.Create("/tmp/dbg/" + filepath.Base(name))
		fmt.Fprintln(f, "timestamp,value,anomaly_score,alert")
		for i := range ts {
			a := 0
			if alerts[i] {
				a = 1
			}
			fmt.Fprintf(f, "%s,%v,%.4f,%d\n", ts[i].Format("2006-01-02 15:04:05"), v[i], scores[i], a)
		}
		f.Close()
	}
}
