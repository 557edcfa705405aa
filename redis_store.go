package main

import (
	"context"
	"fmt"
	"log/slog"

	"resetgate/reset"
	"resetgate/reset/redis"
)

// openRedisStore opens the shared Redis store of [store] backend = "redis": one node from
// redis_url, or Sentinel (redis_addrs + redis_master_name) or Cluster (redis_addrs +
// redis_cluster).
func openRedisStore(ctx context.Context, cfg *Config, getenv func(string) string, log *slog.Logger) (reset.Store, error) {
	s := cfg.Store
	redis.SetLogger(log)
	u, err := secret(getenv, s.RedisURL, s.RedisURLEnv, s.RedisURLFile)
	if err != nil {
		return nil, fmt.Errorf("store.redis_url: %w", err)
	}
	password, err := secret(getenv, "", s.RedisPasswordEnv, s.RedisPasswordFile)
	if err != nil {
		return nil, fmt.Errorf("store.redis_password: %w", err)
	}
	st, err := redis.Open(ctx, redis.Options{URL: u, Addrs: s.RedisAddrs, MasterName: s.RedisMasterName,
		Cluster: s.RedisCluster, Password: password, KeyPrefix: s.KeyPrefix})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// redisReport describes a Redis store for `resetgate check`: its version and any setting that
// can lose state.
func redisReport(ctx context.Context, st reset.Store) (string, []string) {
	r, ok := st.(*redis.Store)
	if !ok {
		return "", nil
	}
	version, err := r.Info(ctx)
	if err != nil {
		version = "version unknown: " + err.Error()
	}
	warnings, err := r.Warnings(ctx)
	if err != nil {
		warnings = append(warnings, err.Error())
	}
	return version, warnings
}
