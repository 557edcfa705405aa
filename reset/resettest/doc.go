// Package resettest holds what tests of resetgate share: in-memory fakes of the domain's
// interfaces and the conformance suite every [reset.Store] backend runs.
//
// The fakes — [MemStore], [Users], [Mailer] and [Clock] — let the domain ([reset.Service]) and
// the web layer be tested without a database, a mail server or real time. They are safe for
// concurrent use and record what happened so that tests can assert on it ([Users.Calls],
// [Mailer.Sent]) and inject failures ([Users.FailNext], [Mailer.FailNext]).
//
// [TestStore] is the one description of how a [reset.Store] behaves. reset/bolt runs it against
// a file in t.TempDir(), reset/redis against the machine's real Redis, and this package against
// [MemStore], so that every backend keeps the same promises to the domain.
//
// Like net/http/httptest, this package is imported only by tests.
package resettest
