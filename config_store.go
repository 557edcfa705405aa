package main

import (
	"strings"
)

// StoreConfig is [store].
type StoreConfig struct {
	Backend           string   `toml:"backend"`
	RedisURL          string   `toml:"redis_url"`
	RedisURLEnv       string   `toml:"redis_url_env"`
	RedisURLFile      string   `toml:"redis_url_file"`
	RedisAddrs        []string `toml:"redis_addrs"`
	RedisMasterName   string   `toml:"redis_master_name"`
	RedisCluster      bool     `toml:"redis_cluster"`
	RedisPasswordEnv  string   `toml:"redis_password_env"`
	RedisPasswordFile string   `toml:"redis_password_file"`
	KeyPrefix         string   `toml:"key_prefix"`
}

// validate checks [store].
func (s *StoreConfig) validate(getenv func(string) string, bad complain) {
	oneOf(bad, "store.backend", s.Backend, "bolt", "redis")
	if s.Backend == "redis" {
		if len(s.RedisAddrs) == 0 {
			secretSource(bad, getenv, "store.redis_url", s.RedisURL, s.RedisURLEnv, s.RedisURLFile, true)
		} else if s.RedisURL != "" || s.RedisURLEnv != "" || s.RedisURLFile != "" {
			bad("store.redis_addrs", "set either redis_url (one node) or redis_addrs (Sentinel or Cluster), not both")
		}
		secretSource(bad, getenv, "store.redis_password", "", s.RedisPasswordEnv, s.RedisPasswordFile, false)
		if s.RedisCluster && !strings.Contains(s.KeyPrefix, "{") {
			bad("store.key_prefix", "%q has no hash tag: in a Redis Cluster use e.g. \"{resetgate}:\" so all keys share one slot", s.KeyPrefix)
		}
	}
}
