package content

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Options tune the service; zero values mean the defaults.
type Options struct {
	// SchedulerInterval is how often each replica looks for due scheduled
	// publications (default 5s): a publication happens at most this long
	// after its publish_at.
	SchedulerInterval time.Duration
	// SchedulerBatch bounds the publications one transaction makes (default 100).
	SchedulerBatch int
	// TrashRetention is how long an item stays in the trash before the
	// purge deletes it for good (default 30 days).
	TrashRetention time.Duration
}

const (
	DefaultSchedulerInterval = 5 * time.Second
	DefaultSchedulerBatch    = 100
	DefaultTrashRetention    = 30 * 24 * time.Hour
)

func (o Options) withDefaults() Options {
	if o.SchedulerInterval <= 0 {
		o.SchedulerInterval = DefaultSchedulerInterval
	}
	if o.SchedulerBatch <= 0 {
		o.SchedulerBatch = DefaultSchedulerBatch
	}
	if o.TrashRetention <= 0 {
		o.TrashRetention = DefaultTrashRetention
	}
	return o
}

// The environment variables OptionsFromEnv reads.
const (
	EnvSchedulerInterval = "SAAS_CONTENT_SCHEDULER_INTERVAL"
	EnvTrashRetention    = "SAAS_CONTENT_TRASH_RETENTION"
)

// OptionsFromEnv reads the service's settings from the environment (getenv
// is os.Getenv), refusing what it cannot use with an error naming the
// variable:
//
//	SAAS_CONTENT_SCHEDULER_INTERVAL  how often scheduled publications are looked for (default 5s, 10ms to 1h)
//	SAAS_CONTENT_TRASH_RETENTION     how long deleted items stay restorable (default 30d, 1m to 3650d)
func OptionsFromEnv(getenv func(string) string) (Options, error) {
	var o Options
	var errs []error
	if v := getenv(EnvSchedulerInterval); v != "" {
		d, err := parseDuration(v)
		if err != nil || d < 10*time.Millisecond || d > time.Hour {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration from 10ms to 1h, such as 5s", EnvSchedulerInterval, v))
		}
		o.SchedulerInterval = d
	}
	if v := getenv(EnvTrashRetention); v != "" {
		d, err := parseDuration(v)
		if err != nil || d < time.Minute || d > 3650*24*time.Hour {
			errs = append(errs, fmt.Errorf("%s=%q: want a duration from 1m to 3650d, such as 30d or 720h", EnvTrashRetention, v))
		}
		o.TrashRetention = d
	}
	return o.withDefaults(), errors.Join(errs...)
}

// parseDuration is time.ParseDuration that also takes whole days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("bad day count %q", days)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}
