// Package e2e is resetgate's browser suite: a real headless Chromium, driven through
// github.com/chromedp/chromedp, walks the whole password reset the way a person does, against
// real legacy apps (examples/flask on PostgreSQL, examples/php on MariaDB, the demo app on
// SQLite), a real resetgate binary and a real mail server (Mailpit) or the outbox.
//
// It sits on top of every other test: nothing here is faked, so it answers the one question
// unit tests cannot, whether a user can actually reset a password and sign in with it.
// Missing tools (chromium, php, python3-flask, mailpit) skip the tests, or fail them with
// CI=true, through testenv.Need. The package has only tests; this file gives it its name.
//
//	go test -race -count=1 ./e2e/ [-screenshots DIR] [-docs]
package e2e
