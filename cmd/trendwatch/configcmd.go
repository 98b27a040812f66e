package main

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/trendwatch/trendwatch/config"
)

func (a *app) configCmd() *cobra.Command {
	var env bool
	cmd := &cobra.Command{
		Use:   "config [PREFIX]",
		Short: "Print every configuration key with its default, unit and meaning",
		Long: `config prints every configuration key with its default, unit and meaning.
A key is set in the YAML file (--config) under its dotted path, or by the
environment variable TRENDWATCH_ + the key upper-cased with '.' → '_'
(--env lists them). A PREFIX, e.g. window or kafka.limits, lists those keys only.
With --config FILE, the file is loaded and validated first, as run loads it. Sizes take units (256MiB, 1GiB, 512KB or plain bytes);
durations need one (30s, 5m, 1h; 0 alone means off where allowed).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			// With --config, the file (and the environment) is loaded and
			// validated as every command loads it, so that a configuration
			// can be checked before a deployment: a bad file exits non-zero
			// naming the key, where before it was not read at all.
			if a.cfgFile != "" {
				if _, err := a.load(cmd); err != nil {
					return err
				}
			}
			keys := config.Keys()
			if len(args) == 1 {
				// `trendwatch config window` lists one section.
				keys = slices.DeleteFunc(keys, func(k config.Key) bool { return !strings.HasPrefix(k.Name, args[0]) })
				if len(keys) == 0 {
					return fmt.Errorf("config %q: no key starts with it; `trendwatch config` lists them all", args[0])
				}
			}
			return printKeys(cmd.OutOrStdout(), keys, env)
		},
	}
	cmd.Flags().BoolVar(&env, "env", false, "add a column with each key's environment variable")
	return cmd
}

// printKeys writes one aligned line per key; tabwriter sizes the columns to
// the longest key rather than a fixed width that long keys break.
func printKeys(w io.Writer, keys []config.Key, env bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if env {
		fmt.Fprintln(tw, "KEY\tDEFAULT\tUNIT\tENVIRONMENT\tMEANING")
	} else {
		fmt.Fprintln(tw, "KEY\tDEFAULT\tUNIT\tMEANING")
	}
	for _, k := range keys {
		if env {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, k.Default, k.Unit, k.Env, k.Meaning)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", k.Name, k.Default, k.Unit, k.Meaning)
		}
	}
	return tw.Flush()
}
