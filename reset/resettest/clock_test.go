package resettest_test

import (
	"testing"
	"time"

	"resetgate/reset/resettest"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	c := resettest.NewClock(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("Now() = %v, want %v", got, t0)
	}
	if got, want := c.Advance(time.Hour), t0.Add(time.Hour); !got.Equal(want) || !c.Now().Equal(want) {
		t.Errorf("Advance(1h) = %v, Now() = %v, want %v", got, c.Now(), want)
	}
	c.Set(t0)
	if got := c.Now(); !got.Equal(t0) {
		t.Errorf("Now() after Set = %v, want %v", got, t0)
	}
}
