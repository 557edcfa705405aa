// Command testsummary runs `go test -json …`, prints what go test prints without -json (each
// package's ok/FAIL line, the output of failing tests) and ends with a summary of every
// skipped test grouped by reason, with the commands that install what is missing. It exits
// with go test's own status. `make test` runs the suites through it, so that a local run that
// skipped whole suites (no Mailpit, no chromium) cannot pass for a complete one (issue 19).
//
// It is a development tool: package main of resetgate never imports it.
//
//	go run ./internal/cmd/testsummary go test -json -race -count=1 ./...
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command in args (which must produce go test's -json stream on its standard
// output), relays it through a [summarizer] to stdout and returns the command's exit status.
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || !slices.Contains(args, "-json") {
		fmt.Fprintln(stderr, "usage: testsummary go test -json [flags] [packages]")
		return 2
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdin, cmd.Stderr = os.Stdin, stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		fmt.Fprintln(stderr, "testsummary:", err)
		return 2
	}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "testsummary:", err)
		return 2
	}
	s := newSummarizer(stdout)
	readErr := s.Read(pipe)
	err = cmd.Wait()
	status := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		status = exit.ExitCode()
		if status < 0 { // killed by a signal
			status = 1
		}
	case err != nil:
		fmt.Fprintln(stderr, "testsummary:", err)
		status = 1
	}
	if readErr != nil {
		fmt.Fprintln(stderr, "testsummary: reading go test's output:", readErr)
		if status == 0 {
			status = 1
		}
	}
	s.Finish(status)
	return status
}
