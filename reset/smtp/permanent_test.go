package smtp_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"resetgate/reset"
	"resetgate/reset/smtp"
)

// scriptedRelay is a minimal SMTP server on loopback that answers every command with 250 but
// for one verb, which gets the given reply: enough to see how Send classifies a refusal.
func scriptedRelay(t *testing.T, verb, reply string) (host string, port int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				r := bufio.NewReader(c)
				c.Write([]byte("220 relay.test ESMTP\r\n"))
				data := false
				for {
					line, err := r.ReadString('\n')
					if err != nil {
						return
					}
					if data {
						if line == ".\r\n" {
							data = false
							c.Write([]byte(answer("DATA-END", verb, reply, "250 ok")))
						}
						continue
					}
					cmd := strings.ToUpper(strings.Fields(line + " x")[0])
					switch cmd {
					case "EHLO", "HELO":
						c.Write([]byte("250-relay.test\r\n250 8BITMIME\r\n"))
					case "DATA":
						ans := answer("DATA", verb, reply, "354 go ahead")
						c.Write([]byte(ans))
						data = strings.HasPrefix(ans, "354")
					case "QUIT":
						c.Write([]byte("221 bye\r\n"))
						return
					default:
						c.Write([]byte(answer(cmd, verb, reply, "250 ok")))
					}
				}
			}()
		}
	}()
	a := ln.Addr().(*net.TCPAddr)
	return "127.0.0.1", a.Port
}

func answer(cmd, verb, reply, def string) string {
	if cmd == verb {
		return reply + "\r\n"
	}
	return def + "\r\n"
}

func TestPermanentRefusals(t *testing.T) {
	tests := []struct {
		name, verb, reply string
		permanent         bool
	}{
		{"recipient unknown", "RCPT", "550 5.1.1 no such user", true},
		{"content refused", "DATA-END", "554 5.7.1 message refused", true},
		{"recipient mailbox busy", "RCPT", "450 4.2.1 try later", false},
		{"sender refused (a config problem)", "MAIL", "550 5.7.1 sender not allowed", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, port := scriptedRelay(t, tt.verb, tt.reply)
			m := mustMailer(t, smtp.Options{Host: host, Port: port, TLS: smtp.TLSNone})
			err := m.Send(context.Background(), message("alice@example.org"))
			if err == nil {
				t.Fatalf("Send() = nil, want the relay's %q", tt.reply)
			}
			if got := errors.Is(err, reset.ErrMailRejected); got != tt.permanent {
				t.Errorf("Send() = %v; permanent = %v, want %v", err, got, tt.permanent)
			}
		})
	}
}
