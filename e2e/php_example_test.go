package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/go-sql-driver/mysql"

	"resetgate/internal/testenv"
)

// phpExample is examples/php (PHP's built-in server, password_hash bcrypt, sessions in files
// regenerated at sign-in) seeded on a fresh MariaDB database and listening on a free port.
type phpExample struct {
	proc     *proc
	upstream string // http://127.0.0.1:port
	dsn      string // the app's database, for resetgate's [users]
}

// runPHPExample seeds user into a fresh MariaDB database and starts examples/php on it. It
// skips (fails with CI set) without php-cli and php-mysql.
func runPHPExample(t *testing.T, user account) phpExample {
	t.Helper()
	php := testenv.Env("E2E_PHP", "php")
	testenv.Need(t, "php-cli and php-mysql (apt-get install php-cli php-mysql)",
		runTool(t.Context(), "", nil, php, "-r", `exit(extension_loaded("pdo_mysql") ? 0 : 1);`))
	dsn := testenv.MySQL(t)
	mc, err := mysql.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	dbHost, dbPort, err := net.SplitHostPort(mc.Addr)
	if err != nil {
		t.Fatal(err)
	}
	appDir, err := filepath.Abs(filepath.Join("..", "examples", "php"))
	if err != nil {
		t.Fatal(err)
	}
	env := []string{
		fmt.Sprintf("DB_DSN=mysql:host=%s;port=%s;dbname=%s;charset=utf8mb4", dbHost, dbPort, mc.DBName),
		"DB_USER=" + mc.User, "DB_PASSWORD=" + mc.Passwd,
	}
	if err := runTool(t.Context(), appDir, env, php, "seed.php", user.email, user.name, user.password); err != nil {
		t.Fatal(err)
	}
	sessions := t.TempDir()
	app, port := startOnFreePort(t, "php app", func(port int) *exec.Cmd {
		// Errors go to the server's log, where the journey looks for them, not into pages.
		cmd := exec.Command(php, "-d", "session.save_path="+sessions, "-d", "error_reporting=E_ALL",
			"-d", "display_errors=0", "-d", "log_errors=1",
			"-S", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)), "-t", "public")
		cmd.Dir = appDir
		cmd.Env = slices.Concat(os.Environ(), env)
		return cmd
	}, func(ctx context.Context, p *proc, port int) error {
		return waitHTTP(ctx, p, fmt.Sprintf("http://127.0.0.1:%d/login.php", port))
	})
	return phpExample{proc: app, upstream: fmt.Sprintf("http://127.0.0.1:%d", port), dsn: dsn}
}
