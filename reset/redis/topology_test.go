package redis_test

// Sentinel, Cluster and restarts need Redis servers of their own, which these tests start
// from the redis-server binary in throwaway directories on free ports; the shared server on
// 6379 is never touched.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"resetgate/internal/testenv"
	"resetgate/reset"
	"resetgate/reset/redis"
	"resetgate/reset/resettest"
)

// server is a redis-server process that a test started.
type server struct {
	addr string
	dir  string
	args []string
	cmd  *exec.Cmd
}

// startServer runs redis-server in its own directory on a free port with extra config
// directives (e.g. "--appendonly", "yes"), preceded by a config file if the first does not
// start with "--"; it waits until the server answers, and kills it when the test ends.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	testenv.Need(t, "the redis-server binary", err)
	dir := t.TempDir()
	addr := closedAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	var args []string
	if len(extra) > 0 && !strings.HasPrefix(extra[0], "--") {
		args, extra = append(args, extra[0]), extra[1:]
	}
	args = append(args, "--port", port, "--bind", "127.0.0.1", "--dir", dir)
	srv := &server{addr: addr, dir: dir, args: append(args, extra...)}
	srv.start(t, bin)
	return srv
}

func (srv *server) start(t *testing.T, bin string) {
	t.Helper()
	srv.cmd = exec.Command(bin, srv.args...)
	srv.cmd.Dir = srv.dir
	log, err := os.Create(filepath.Join(srv.dir, fmt.Sprintf("server-%d.log", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	srv.cmd.Stdout, srv.cmd.Stderr = log, log
	if err := srv.cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	cmd := srv.cmd
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		log.Close()
	})
	c := goredis.NewClient(&goredis.Options{Addr: srv.addr, MaxRetries: -1})
	defer c.Close()
	waitFor(t, 20*time.Second, "redis-server on "+srv.addr, func() (bool, error) {
		return c.Ping(t.Context()).Err() == nil, nil
	})
}

// kill stops the server with SIGKILL, as a crash would.
func (srv *server) kill(t *testing.T) {
	t.Helper()
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill redis-server: %v", err)
	}
	srv.cmd.Wait()
}

// restart starts the server again with the same directory, port and configuration.
func (srv *server) restart(t *testing.T) {
	t.Helper()
	srv.start(t, srv.cmd.Path)
}

func (srv *server) client(t *testing.T) *goredis.Client {
	t.Helper()
	return rawClient(t, srv.addr)
}

// startSentinel starts a Sentinel monitoring the primary at primary under name.
func startSentinel(t *testing.T, name, primary string) *server {
	t.Helper()
	conf := filepath.Join(t.TempDir(), "sentinel.conf")
	host, port, _ := strings.Cut(primary, ":")
	text := fmt.Sprintf("sentinel monitor %[1]s %[2]s %[3]s 1\n"+
		"sentinel down-after-milliseconds %[1]s 1000\nsentinel failover-timeout %[1]s 5000\n", name, host, port)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	// Sentinel rewrites its config file, which must therefore come first and be writable.
	return startServer(t, conf, "--sentinel")
}

func TestSentinel(t *testing.T) {
	primary := startServer(t)
	sentinel := startSentinel(t, "rgtest", primary.addr)
	open := func(t *testing.T, prefix string) reset.Store {
		return openStore(t, redis.Options{Addrs: []string{sentinel.addr}, MasterName: "rgtest", KeyPrefix: prefix})
	}
	t.Run("conformance", func(t *testing.T) {
		resettest.TestStore(t, resettest.Factory{
			Open: func(t *testing.T) reset.Store { return open(t, testenv.Name("rgtest_")+":") },
			Reopen: func(t *testing.T, closed reset.Store) reset.Store {
				return open(t, closed.(*redis.Store).KeyPrefix())
			},
			WallClockExpiry: true,
		})
	})
	t.Run("unknown primary", func(t *testing.T) {
		s, err := redis.Open(t.Context(), redis.Options{Addrs: []string{sentinel.addr}, MasterName: "nosuch"})
		if err == nil {
			s.Close()
			t.Fatal(`Open(MasterName "nosuch") = nil, want an error`)
		}
		if !strings.Contains(err.Error(), `monitors no primary named "nosuch"`) {
			t.Errorf(`Open(MasterName "nosuch") = %q, want it to say the Sentinel knows no such primary`, err)
		}
	})
}

// TestSentinelFailover kills the primary; Sentinel promotes the replica, and the store, still
// open, finds the new primary with the state that had been replicated.
func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("a failover takes several seconds")
	}
	primary := startServer(t)
	replica := startServer(t, "--replicaof", strings.Replace(primary.addr, ":", " ", 1))
	waitFor(t, 20*time.Second, "the replica to sync", func() (bool, error) {
		info, err := replica.client(t).Info(t.Context(), "replication").Result()
		return strings.Contains(info, "master_link_status:up"), err
	})
	sentinel := startSentinel(t, "rgtest", primary.addr)
	sc := goredis.NewSentinelClient(&goredis.Options{Addr: sentinel.addr})
	defer sc.Close()
	waitFor(t, 30*time.Second, "Sentinel to discover the replica", func() (bool, error) {
		rs, err := sc.Replicas(t.Context(), "rgtest").Result()
		return len(rs) == 1, err
	})

	s, err := redis.Open(t.Context(), redis.Options{Addrs: []string{sentinel.addr}, MasterName: "rgtest"})
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	defer s.Close()
	at := now()
	tok := newToken("u1", at, time.Hour)
	mustSaveToken(t, s, tok)
	if err := s.Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: "a@example.com", CreatedAt: at}); err != nil {
		t.Fatalf("Enqueue() = %v, want nil", err)
	}
	// Replication is asynchronous: make sure the replica has the writes before the crash.
	if n, err := primary.client(t).Wait(t.Context(), 1, 5*time.Second).Result(); err != nil || n != 1 {
		t.Fatalf("WAIT 1 = %d, %v, want 1 replica", n, err)
	}

	primary.kill(t)
	// Poll with a read: a claim whose reply was lost would make every later claim fail.
	var during error
	waitFor(t, 60*time.Second, "the store to reach the promoted replica", func() (bool, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		_, err := s.Token(ctx, tok.ID)
		if err != nil && during == nil {
			during = err
		}
		return err == nil, nil
	})
	if during != nil {
		// Unreachable is not "no such token": the service must fail closed, not call the link invalid.
		if errors.Is(during, reset.ErrTokenNotFound) || !strings.HasPrefix(during.Error(), "redis: read token: ") {
			t.Errorf("Token() during the failover = %v, want a redis: error that is not %v", during, reset.ErrTokenNotFound)
		}
		t.Logf("during the failover: %v", during)
	}
	if _, err := s.ClaimToken(t.Context(), tok.ID, at, at.Add(time.Minute)); err != nil {
		t.Errorf("ClaimToken() on the promoted replica = %v, want nil", err)
	}
	if j, err := s.NextJob(t.Context(), at, at.Add(time.Minute)); err != nil || j.Email != "a@example.com" {
		t.Errorf("NextJob() on the promoted replica = %+v, %v, want the job enqueued before the crash", j, err)
	}
	if info, err := replica.client(t).Info(t.Context(), "replication").Result(); err != nil || !strings.Contains(info, "role:master") {
		t.Errorf("the replica's role after the failover: %v, want master", err)
	}
}

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("creating a cluster takes several seconds")
	}
	cli, err := exec.LookPath("redis-cli")
	testenv.Need(t, "the redis-cli binary", err)
	var addrs []string
	for range 3 {
		bus := closedAddr(t)
		_, busPort, _ := strings.Cut(bus, ":")
		n := startServer(t, "--cluster-enabled", "yes", "--cluster-port", busPort)
		addrs = append(addrs, n.addr)
	}
	create := exec.Command(cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-yes")...)
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	for _, a := range addrs {
		c := rawClient(t, a)
		waitFor(t, 30*time.Second, "cluster_state:ok on "+a, func() (bool, error) {
			info, err := c.ClusterInfo(t.Context()).Result()
			return strings.Contains(info, "cluster_state:ok"), err
		})
	}

	open := func(t *testing.T, prefix string) reset.Store {
		return openStore(t, redis.Options{Addrs: addrs, KeyPrefix: prefix})
	}
	t.Run("conformance", func(t *testing.T) {
		resettest.TestStore(t, resettest.Factory{
			Open: func(t *testing.T) reset.Store { return open(t, "{"+testenv.Name("rgtest_")+"}:") },
			Reopen: func(t *testing.T, closed reset.Store) reset.Store {
				return open(t, closed.(*redis.Store).KeyPrefix())
			},
			WallClockExpiry: true,
		})
	})
	t.Run("one seed address", func(t *testing.T) {
		s := openStore(t, redis.Options{Addrs: addrs[:1], Cluster: true, KeyPrefix: "{seed}:"})
		defer s.Close()
		if err := s.Ping(t.Context()); err != nil {
			t.Errorf("Ping() = %v, want nil", err)
		}
	})
	t.Run("node taken for a single server", func(t *testing.T) {
		s, err := redis.Open(t.Context(), redis.Options{Addrs: addrs[:1], KeyPrefix: "{x}:"})
		if err == nil {
			s.Close()
			t.Fatal("Open(one cluster node, not in Cluster mode) = nil, want an error")
		}
		if !strings.Contains(err.Error(), "is a Redis Cluster node") {
			t.Errorf("Open(one cluster node, not in Cluster mode) = %q, want it to say so", err)
		}
	})
}

// TestRedisRestartKeepsState: with appendonly yes and appendfsync everysec, as the README
// recommends, what the store acknowledged survives kill -9 of Redis, and the open store
// carries on once Redis is back.
func TestRedisRestartKeepsState(t *testing.T) {
	srv := startServer(t, "--appendonly", "yes", "--appendfsync", "everysec")
	s, err := redis.Open(t.Context(), redis.Options{Addrs: []string{srv.addr}})
	if err != nil {
		t.Fatalf("Open() = %v, want nil", err)
	}
	defer s.Close()
	at := now()
	const n = 200
	for i := range n {
		j := reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: fmt.Sprintf("u%d@example.com", i), CreatedAt: at}
		if err := s.Enqueue(t.Context(), j); err != nil {
			t.Fatalf("Enqueue #%d = %v, want nil", i, err)
		}
	}
	tok := newToken("u1", at, time.Hour)
	mustSaveToken(t, s, tok)
	secret, err := s.Secret(t.Context(), "cookie", 32)
	if err != nil {
		t.Fatalf("Secret() = %v, want nil", err)
	}

	// everysec may lose the last second before a crash (Redis documents it), and under load
	// the background fsync can lag further. So that the test checks what survives a crash
	// after an fsync, not the scheduler: switch to "always" and make one more write, whose
	// reply comes only once the whole AOF file is on disk, then kill.
	c := goredis.NewClient(&goredis.Options{Addr: srv.addr})
	if err := c.ConfigSet(t.Context(), "appendfsync", "always").Err(); err != nil {
		t.Fatalf("CONFIG SET appendfsync always = %v", err)
	}
	if err := c.Set(t.Context(), "fsync-barrier", "1", 0).Err(); err != nil {
		t.Fatalf("SET after appendfsync always = %v", err)
	}
	c.Close()
	srv.kill(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	if err := s.Enqueue(ctx, reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: "down@example.com"}); err == nil || !strings.HasPrefix(err.Error(), "redis: enqueue job: ") {
		t.Errorf("Enqueue() with Redis down = %v, want a redis: enqueue job: error", err)
	}
	cancel()
	srv.restart(t)

	js, err := s.Jobs(t.Context())
	if err != nil || len(js) != n {
		t.Fatalf("Jobs() after the restart = %d jobs, %v, want %d", len(js), err, n)
	}
	if got, err := s.Token(t.Context(), tok.ID); err != nil || got.UserID != "u1" {
		t.Errorf("Token(%q) after the restart = %+v, %v, want the token", tok.ID, got, err)
	}
	if got, err := s.Secret(t.Context(), "cookie", 32); err != nil || string(got) != string(secret) {
		t.Errorf("Secret() after the restart = %x, %v, want %x", got, err, secret)
	}
	// The id counter survived too: new ids still sort after the old ones.
	if err := s.Enqueue(t.Context(), reset.Job{ID: resettest.NewJobID(time.Now()), Kind: reset.JobReset, Email: "new@example.com", CreatedAt: at}); err != nil {
		t.Fatalf("Enqueue() after the restart = %v, want nil", err)
	}
	if all, err := s.Jobs(t.Context()); err != nil || len(all) != n+1 || all[n].Email != "new@example.com" {
		t.Errorf("Jobs() = %d jobs, %v, want the new job last of %d", len(all), err, n+1)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name   string
		config []string
		want   []string // one substring per expected warning
	}{
		{"recommended settings", []string{"--appendonly", "yes", "--maxmemory-policy", "noeviction"}, nil},
		{"cache settings", []string{"--appendonly", "no", "--maxmemory-policy", "allkeys-lru"},
			[]string{"maxmemory-policy is allkeys-lru", "appendonly is off"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startServer(t, tt.config...)
			s := mustOpen(t, srv.addr, "")
			got, err := s.Warnings(t.Context())
			if err != nil {
				t.Fatalf("Warnings() = %v, want nil", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("Warnings() = %q, want %d warnings", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("Warnings()[%d] = %q, want it to contain %q", i, got[i], w)
				}
			}
		})
	}
}
