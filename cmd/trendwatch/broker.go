package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/trendwatch/trendwatch/sim/broker"
)

func (a *app) brokerCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the embedded Kafka-protocol broker until Ctrl-C",
		Long: `broker runs an in-process Kafka-protocol broker (franz-go's kfake) with the
content, report and dead-letter topics created. Any Kafka client can use it, e.g.

  trendwatch broker --listen 127.0.0.1:9092 &
  echo '{"event_id":"e1","ts":"2026-11-22T10:00:00Z","content_id":"c1","creator_id":"u1","region":"NP","hashtags":["#चुनौती"]}' \
    | kcat -P -b 127.0.0.1:9092 -t content-events -k c1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := a.load(cmd)
			if err != nil {
				return err
			}
			log := cfg.Log.Logger()
			b, err := broker.Start(cfg.Broker, log)
			if err != nil {
				return err
			}
			defer b.Close()
			fmt.Fprintf(cmd.OutOrStdout(), "broker listening on %s, topics %v (%d partitions each); Ctrl-C to stop\n", b.Addr(), cfg.Broker.Topics, cfg.Broker.Partitions)
			<-cmd.Context().Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.String("listen", "", "host:port to listen on (broker.listen, default 127.0.0.1:9092)")
	f.Int("partitions", 0, "partitions per topic (broker.partitions)")
	f.String("data-dir", "", "keep the log on disk here so a restart keeps messages and offsets (broker.data_dir)")
	configKey(f, "listen", "broker.listen")
	configKey(f, "partitions", "broker.partitions")
	configKey(f, "data-dir", "broker.data_dir")
	return cmd
}
