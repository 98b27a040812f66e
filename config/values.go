package config

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// convert turns a raw value from the file (YAML types), the environment or a
// flag (strings) into the type of its field. Doing it here, with the key's
// unit at hand, rather than in mapstructure hooks, is what lets a size take
// units and a duration refuse a bare number: a hook sees neither the key nor
// where the value came from.
func convert(raw any, t reflect.Type, unit string) (any, error) {
	if raw == nil {
		return reflect.Zero(t).Interface(), nil
	}
	if reflect.TypeOf(raw) == t {
		return raw, nil
	}
	switch {
	case t == durationType:
		return parseDuration(raw)
	case unit == UnitBytes:
		n, err := parseSize(raw)
		if err != nil {
			return nil, err
		}
		return fitInt(n, t)
	}
	switch t.Kind() {
	case reflect.Bool:
		if s, ok := raw.(string); ok {
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return nil, errors.New("want true or false")
			}
			return b, nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := parseInt(raw)
		if err != nil {
			return nil, err
		}
		return fitInt(n, t)
	case reflect.Float32, reflect.Float64:
		f, err := parseFloat(raw)
		if err != nil {
			return nil, err
		}
		return reflect.ValueOf(f).Convert(t).Interface(), nil
	case reflect.String:
		switch raw.(type) {
		case int, int64, uint64, float64, bool:
			return fmt.Sprint(raw), nil // YAML read `group: 123` as a number
		}
	case reflect.Slice:
		if t.Elem().Kind() != reflect.String {
			// Lists of structs (watchlist entries) decode as they are; only a
			// file can hold them.
			if _, ok := raw.([]any); !ok {
				return nil, errors.New("want a list of entries, which only the YAML file can hold")
			}
			return raw, nil
		}
		switch r := raw.(type) {
		case string:
			return splitList(r), nil
		case []any:
			out := make([]string, 0, len(r))
			for _, e := range r {
				switch e.(type) {
				case map[string]any, []any:
					return nil, fmt.Errorf("want a list of strings, got an element %v", e)
				}
				out = append(out, fmt.Sprint(e))
			}
			return out, nil
		}
	default:
		return raw, nil
	}
	return nil, fmt.Errorf("want a %s, got a %T", kindName(t), raw)
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "boolean"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice:
		return "list"
	case reflect.String:
		return "string"
	}
	return "whole number"
}

// splitList reads a comma-separated list, as lists come from the environment.
func splitList(s string) []string {
	out := []string{}
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

func parseDuration(raw any) (time.Duration, error) {
	const want = "want a number with a unit, e.g. 30s, 5m, 1h"
	switch r := raw.(type) {
	case string:
		s := strings.TrimSpace(r)
		if f, err := strconv.ParseFloat(s, 64); err == nil {
			if f == 0 {
				return 0, nil
			}
			return 0, fmt.Errorf("a duration needs a unit (%ss? %sm?); %s", s, s, want)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("not a duration; %s", want)
		}
		return d, nil
	case int, int64, uint64, float64:
		if reflect.ValueOf(r).IsZero() {
			return 0, nil
		}
		return 0, fmt.Errorf("a duration needs a unit (%vs? %vm?); %s", r, r, want)
	}
	return 0, fmt.Errorf("want a duration, got a %T; %s", raw, want)
}

// sizeUnits are the suffixes a size may carry: SI multiples of 1000 and IEC
// multiples of 1024, as `256MiB` in the README and `512KB` elsewhere.
func sizeUnits() []struct {
	suffix string
	mult   float64
} {
	return []struct {
		suffix string
		mult   float64
	}{
		{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
		{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
		{"b", 1},
	}
}

// parseSize reads a byte size: plain bytes (1048576) or with a unit (256MiB,
// 1GiB, 512KB, 1.5GiB).
func parseSize(raw any) (int64, error) {
	const want = "want bytes, optionally with a unit: 1048576, 512KB, 256MiB, 1GiB"
	switch r := raw.(type) {
	case int, int64, uint64:
		return parseSize(fmt.Sprint(r))
	case float64:
		if r != math.Trunc(r) {
			return 0, fmt.Errorf("not a whole number of bytes; %s", want)
		}
		return parseSize(strconv.FormatFloat(r, 'f', -1, 64))
	case string:
		s := strings.ToLower(strings.TrimSpace(r))
		mult := 1.0
		for _, u := range sizeUnits() {
			if strings.HasSuffix(s, u.suffix) {
				s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
				break
			}
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && mult == 1 {
			if n < 0 {
				return 0, fmt.Errorf("a size cannot be negative; %s", want)
			}
			return n, nil
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || s == "" {
			return 0, fmt.Errorf("not a size; %s", want)
		}
		switch b := f * mult; {
		case b < 0:
			return 0, fmt.Errorf("a size cannot be negative; %s", want)
		case b >= math.MaxInt64:
			return 0, fmt.Errorf("too large; %s", want)
		case b != math.Trunc(b):
			return 0, fmt.Errorf("not a whole number of bytes; %s", want)
		default:
			return int64(b), nil
		}
	}
	return 0, fmt.Errorf("want a size, got a %T; %s", raw, want)
}

func parseInt(raw any) (int64, error) {
	switch r := raw.(type) {
	case int:
		return int64(r), nil
	case int64:
		return r, nil
	case uint64:
		if r > math.MaxInt64 {
			return 0, errors.New("too large")
		}
		return int64(r), nil
	case float64:
		if r != math.Trunc(r) || math.Abs(r) >= math.MaxInt64 {
			return 0, errors.New("want a whole number")
		}
		return int64(r), nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(r), 10, 64)
		if err != nil {
			return 0, errors.New("want a whole number")
		}
		return n, nil
	}
	return 0, fmt.Errorf("want a whole number, got a %T", raw)
}

func parseFloat(raw any) (float64, error) {
	switch r := raw.(type) {
	case int:
		return float64(r), nil
	case int64:
		return float64(r), nil
	case uint64:
		return float64(r), nil
	case float64:
		return r, nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(r), 64)
		if err != nil {
			return 0, errors.New("want a number")
		}
		return f, nil
	}
	return 0, fmt.Errorf("want a number, got a %T", raw)
}

// fitInt converts n to t, refusing what t cannot hold rather than wrapping.
func fitInt(n int64, t reflect.Type) (any, error) {
	v := reflect.New(t).Elem()
	switch t.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n < 0 || v.OverflowUint(uint64(n)) {
			return nil, fmt.Errorf("out of range for this key (0 to %d)", uint64(1)<<(t.Bits())-1)
		}
		v.SetUint(uint64(n))
	default:
		if v.OverflowInt(n) {
			return nil, fmt.Errorf("out of range for this key (at most %d)", int64(1)<<(t.Bits()-1)-1)
		}
		v.SetInt(n)
	}
	return v.Interface(), nil
}

// formatValue writes a value as it would be written in the file.
func formatValue(v reflect.Value, unit string) string {
	switch {
	case v.Type() == durationType:
		return formatDuration(time.Duration(v.Int()))
	case unit == UnitBytes && v.CanInt():
		return formatSize(v.Int())
	case v.Kind() == reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = fmt.Sprint(v.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case v.Kind() == reflect.String && v.String() == "":
		return `""`
	}
	return fmt.Sprint(v.Interface())
}

// formatDuration drops the zero tails of time.Duration's String: 168h, not 168h0m0s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
