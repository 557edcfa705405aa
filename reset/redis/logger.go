package redis

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// SetLogger sends go-redis' own messages (failed connection attempts, pool trouble) to log at
// warning level instead of the standard logger. go-redis keeps one logger per process, so
// package main calls this once.
func SetLogger(log *slog.Logger) {
	goredis.SetLogger(slogAdapter{log})
}

type slogAdapter struct{ log *slog.Logger }

func (a slogAdapter) Printf(ctx context.Context, format string, v ...any) {
	a.log.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "redis")
}
