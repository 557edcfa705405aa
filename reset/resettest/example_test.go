package resettest_test

import (
	"context"
	"fmt"
	"time"

	"resetgate/reset"
	"resetgate/reset/resettest"
)

// A domain test wires the fakes where the real adapters would go, moves the clock instead of
// sleeping, and waits for the mail worker through the Mailer.
func Example() {
	clock := resettest.NewClock(time.Date(2030, 1, 1, 9, 0, 0, 0, time.UTC))
	users := resettest.NewUsers(reset.User{ID: "1", Email: "alice@example.com", PasswordHash: "old"})
	mailer := resettest.NewMailer()
	store := resettest.NewMemStore()
	defer store.Close()

	ctx := context.Background()
	store.Enqueue(ctx, reset.Job{ID: reset.NewJobID(clock.Now()), Kind: reset.JobReset, Email: "alice@example.com", CreatedAt: clock.Now()})

	// Stand-in for the service's worker goroutine.
	go func() {
		j, _ := store.NextJob(ctx, clock.Now(), clock.Now().Add(time.Minute))
		u, _ := users.FindUser(ctx, j.Email)
		mailer.Send(ctx, reset.Message{To: u.Email, Subject: "Reset your password"})
		store.AckJob(ctx, j)
	}()

	wait, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sent, err := mailer.WaitSent(wait, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(sent[0].To)
	fmt.Println(users.Calls(resettest.FindUser), "lookup")
	// Output:
	// alice@example.com
	// 1 lookup
}
