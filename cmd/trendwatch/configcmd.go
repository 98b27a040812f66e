package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/trendwatch/trendwatch/config"
)

func (a *app) configCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print every configuration key, its environment variable and its default",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys := config.Keys()
			names := make([]string, 0, len(keys))
			for k := range keys {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(cmd.OutOrStdout(), "%-45s %-55s %v\n", k, config.EnvVar(k), keys[k])
			}
			return nil
		},
	}
}
