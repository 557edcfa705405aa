package redis_test

import (
	"context"
	"log"
	"os"

	"resetgate/reset/redis"
)

// Open takes one of three shapes; the password can come from a secret rather than the URL.
func ExampleOpen() {
	ctx := context.Background()

	// A single node.
	single := redis.Options{URL: "redis://redis.internal:6379/0", Password: os.Getenv("REDIS_PASSWORD")}

	// Sentinel: the Sentinels' addresses and the name of the primary they watch.
	sentinel := redis.Options{
		Addrs:      []string{"10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"},
		MasterName: "resetgate",
		Password:   os.Getenv("REDIS_PASSWORD"),
	}

	// Cluster: seed nodes, and a key prefix with a hash tag so that every key is in one slot.
	cluster := redis.Options{
		Addrs:     []string{"10.0.1.1:6379", "10.0.1.2:6379", "10.0.1.3:6379"},
		KeyPrefix: "{resetgate}:",
	}

	for _, o := range []redis.Options{single, sentinel, cluster} {
		s, err := redis.Open(ctx, o)
		if err != nil {
			log.Print(err) // e.g. "redis: connect to redis.internal:6379: dial tcp …: connection refused"
			continue
		}
		version, _ := s.Info(ctx)
		log.Printf("redis %s answered", version)
		s.Close()
	}
}
