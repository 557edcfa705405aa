package bolt_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"resetgate/reset"
	"resetgate/reset/bolt"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "resetgate")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	s, err := bolt.Open(filepath.Join(dir, "state.db"), bolt.Options{})
	if err != nil {
		log.Fatal(err) // e.g. "… data file is in use by another resetgate process …"
	}
	defer s.Close()

	ctx, now := context.Background(), time.Now()
	id := reset.NewJobID(now) // chosen by the caller, so that a retried Enqueue stores one job
	if err := s.Enqueue(ctx, reset.Job{ID: id, Kind: reset.JobReset, Email: "alice@example.com", CreatedAt: now}); err != nil {
		log.Fatal(err)
	}
	j, err := s.NextJob(ctx, now, now.Add(time.Minute))
	fmt.Println(j.ID == id, j.Email, err)
	// Output: true alice@example.com <nil>
}
