package passhash

import (
	"strings"
	"testing"
)

// cryptSetting computes crypt(3) for a "$5$…"/"$6$…" setting string the way the
// specification's reference does: an optional rounds=N clamped to [1000, 999999999], and the
// salt cut at the first '$' or 16 characters.
func cryptSetting(t *testing.T, password, setting string) string {
	t.Helper()
	f := shaCryptFormat{is512: strings.HasPrefix(setting, "$6$"), rounds: shaCryptRoundsDefault}
	rest := setting[3:]
	if r, ok := strings.CutPrefix(rest, "rounds="); ok {
		digits, after, _ := strings.Cut(r, "$")
		n, ok := atoi(digits)
		if !ok {
			t.Fatalf("bad setting %q", setting)
		}
		f.rounds, f.explicit, rest = min(max(n, shaCryptRoundsMin), shaCryptRoundsMax), true, after
	}
	salt, _, _ := strings.Cut(rest, "$")
	if len(salt) > shaCryptSaltMax {
		salt = salt[:shaCryptSaltMax]
	}
	return f.encode([]byte(password), []byte(salt))
}

// TestShaCryptSpecVectors checks the test vectors published with Ulrich Drepper's "Unix crypt
// using SHA-256 and SHA-512" (https://www.akkadia.org/drepper/SHA-crypt.txt).
func TestShaCryptSpecVectors(t *testing.T) {
	const long = "a very much longer text to encrypt.  This one even stretches over morethan one line."
	tests := []struct{ setting, password, want string }{
		{"$5$saltstring", "Hello world!", "$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5"},
		{"$5$rounds=10000$saltstringsaltstring", "Hello world!", "$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA"},
		{"$5$rounds=5000$toolongsaltstring", "This is just a test", "$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5"},
		{"$5$rounds=1400$anotherlongsaltstring", long, "$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1"},
		{"$5$rounds=77777$short", "we have a short salt string but not a short password", "$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/"},
		{"$5$rounds=123456$asaltof16chars..", "a short string", "$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD"},
		{"$5$rounds=10$roundstoolow", "the minimum number is still observed", "$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC"},
		{"$6$saltstring", "Hello world!", "$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1"},
		{"$6$rounds=10000$saltstringsaltstring", "Hello world!", "$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v."},
		{"$6$rounds=5000$toolongsaltstring", "This is just a test", "$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0"},
		{"$6$rounds=1400$anotherlongsaltstring", long, "$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1"},
		{"$6$rounds=77777$short", "we have a short salt string but not a short password", "$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0"},
		{"$6$rounds=123456$asaltof16chars..", "a short string", "$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1"},
		{"$6$rounds=10$roundstoolow", "the minimum number is still observed", "$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX."},
	}
	for _, tt := range tests {
		t.Run(tt.setting, func(t *testing.T) {
			t.Parallel()
			if got := cryptSetting(t, tt.password, tt.setting); got != tt.want {
				t.Errorf("crypt(%q, %q) = %q, want %q", tt.password, tt.setting, got, tt.want)
			}
			if ok, err := Verify(tt.password, tt.want); !ok || err != nil {
				t.Errorf("Verify(%q, %q) = %v, %v, want true, nil", tt.password, tt.want, ok, err)
			}
		})
	}
}

// TestMD5CryptVectors checks MD5-crypt against glibc's crypt(3) (recorded with Python's crypt
// module on Debian 12) and $apr1$ against Apache's htpasswd (in the framework vectors).
func TestMD5CryptVectors(t *testing.T) {
	tests := []struct{ password, hash string }{
		{"", "$1$saltsalt$5Jhcit4zN9UlGiA0txPkO0"},
		{"x", "$1$abc$OGyl6dDvZCDiGmIVbeuCq/"},
		{"password1234567890", "$1$12345678$et.HfD4MEVGhcD4e1.6p8."},
		{"naïve-Ωmega-密码", "$1$/.AZaz09$QUx8ixjuFVPP/EPxUrwtJ/"},
		{"letmein-42", "$apr1$V0UufzLs$E4Mc.4alI.KRSfTRSEp9O/"},
	}
	for _, tt := range tests {
		if ok, err := Verify(tt.password, tt.hash); !ok || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v, want true, nil", tt.password, tt.hash, ok, err)
		}
		if ok, err := Verify(tt.password+"!", tt.hash); ok || err != nil {
			t.Errorf("Verify(%q, %q) = %v, %v, want false, nil", tt.password+"!", tt.hash, ok, err)
		}
	}
}
