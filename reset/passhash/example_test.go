package passhash_test

import (
	"errors"
	"fmt"

	"resetgate/reset/passhash"
)

func ExampleNew() {
	h, err := passhash.New("werkzeug")
	if err != nil {
		panic(err)
	}
	encoded, err := h.Hash("correct horse battery staple")
	if err != nil {
		panic(err)
	}
	ok, err := passhash.Verify("correct horse battery staple", encoded)
	fmt.Println(h, ok, err)
	// Output: werkzeug pbkdf2:sha256 iterations=600000 salt=16 chars true <nil>
}

func ExampleIdentify() {
	// A hash PHP's password_hash wrote: new ones keep its $2y$ prefix and cost.
	h, err := passhash.Identify("$2y$10$TLM4/TJuzGFnzu17u0EEbOqCSAJ4TeYEF8KKUYDPdOV7TroO9ruoy")
	if err != nil {
		panic(err)
	}
	encoded, err := h.Hash("letmein-42")
	if err != nil {
		panic(err)
	}
	fmt.Println(h)
	fmt.Println(encoded[:7], len(encoded), h.MaxPasswordBytes())
	// Output:
	// bcrypt $2y$ cost=10
	// $2y$10$ 60 72
}

func ExampleIdentify_weak() {
	// htpasswd -m: verified, but never written.
	_, err := passhash.Identify("$apr1$V0UufzLs$E4Mc.4alI.KRSfTRSEp9O/")
	fmt.Println(errors.Is(err, passhash.ErrWeakFormat))
	ok, _ := passhash.Verify("letmein-42", "$apr1$V0UufzLs$E4Mc.4alI.KRSfTRSEp9O/")
	fmt.Println(ok)
	// Output:
	// true
	// true
}

func ExampleDescribe() {
	info, err := passhash.Describe("bcrypt$$2b$12$nPZdY1ymMAhUzgMdW.vN1uiESCpO1LNUHKwI/rDZs5eMw2bTZ5/Hu")
	fmt.Println(info.Scheme, "|", info.Variant, "|", info.Params, "|", info.Writable, err)
	fmt.Println(info.Note)
	// Output:
	// django | bcrypt $2b$ | cost=12 | true <nil>
	// Django verifies it only if PASSWORD_HASHERS lists django.contrib.auth.hashers.BCryptPasswordHasher, which Django's default list leaves out; needs the bcrypt package; passwords over 72 bytes are refused (the app's bcrypt would silently use only the first 72)
}

func ExamplePolicy() {
	p, err := passhash.NewPolicy("auto", "django", nil)
	if err != nil {
		panic(err)
	}
	// A Django 3.2 user: same scheme, same iteration count.
	h, _ := p.For("42", "pbkdf2_sha256$260000$pPBxGSOFfqrFGQWvM6dUuW$a3ltYHNx0RXKPi9BAGuFT9rw2IHN8tpu0QJZkCKlBI0=")
	fmt.Println(h)
	// A user whose hash is plain text: refused until hash is set explicitly.
	_, err = p.For("43", "plain$$hunter2")
	fmt.Println(errors.Is(err, passhash.ErrWeakFormat))
	// Output:
	// django pbkdf2_sha256 iterations=260000 salt=22 chars
	// true
}
