package passhash

// Cost floors for [Policy.UpgradeCost], from the OWASP Password Storage Cheat Sheet (PBKDF2:
// 1,300,000 iterations with SHA-1, 600,000 with SHA-256, 210,000 with SHA-512; bcrypt cost
// 10; argon2id m=19 MiB, t=2) and passlib's defaults for SHA-crypt. Every format below encodes
// its cost in the hash, so the app verifies a raised cost without any change (SECURITY.md
// RQ-PWD-09: "current cost").
const (
	floorPBKDF2SHA1   = 1_300_000
	floorPBKDF2SHA256 = 600_000
	floorPBKDF2SHA512 = 210_000
	floorBcrypt       = 10
	floorArgonMemory  = 19 * 1024
	floorArgonTime    = 2
	floorScryptN      = 1 << 15
	floorSHA256Crypt  = 535_000
	floorSHA512Crypt  = 656_000
	// phpass and Drupal 7 have no OWASP figure; 2^16 is eight times WordPress's 2^13 and
	// twice Drupal's 2^15, verified unchanged by both (they accept 2^7 to 2^30).
	floorPhpassLog2 = 16
)

// hardener is implemented by formats whose cost can be raised to the floor.
type hardener interface {
	// harden returns the format with its cost raised to at least the floor.
	harden() format
}

func pbkdf2Floor(digest string) int {
	switch digest {
	case "sha1":
		return floorPBKDF2SHA1
	case "sha384", "sha512":
		return floorPBKDF2SHA512
	}
	return floorPBKDF2SHA256
}

func (f werkzeugPBKDF2) harden() format {
	f.iter = max(f.iter, pbkdf2Floor(f.digest))
	return f
}

func (f werkzeugScrypt) harden() format {
	f.n = max(f.n, floorScryptN)
	return f
}

func (f djangoPBKDF2) harden() format {
	f.iter = max(f.iter, pbkdf2Floor(f.digest))
	return f
}

func (f passlibPBKDF2) harden() format {
	f.rounds = max(f.rounds, pbkdf2Floor(f.digest))
	return f
}

func (f bcryptFormat) harden() format {
	f.cost = max(f.cost, floorBcrypt)
	return f
}

func (f argon2Format) harden() format {
	f.memory = max(f.memory, floorArgonMemory)
	f.time = max(f.time, floorArgonTime)
	return f
}

func (f shaCryptFormat) harden() format {
	floor := floorSHA256Crypt
	if f.is512 {
		floor = floorSHA512Crypt
	}
	if f.rounds < floor {
		f.rounds, f.explicit = floor, true
	}
	return f
}

func (f phpassFormat) harden() format {
	f.log2 = max(f.log2, floorPhpassLog2)
	return f
}

func (f djangoScrypt) harden() format {
	f.n = max(f.n, floorScryptN)
	return f
}

func (f springScryptFormat) harden() format {
	f.n = max(f.n, floorScryptN)
	return f
}

// aspnetFormat v3 carries its iteration count; v2's 1000 are fixed by the format.
func (f aspnetFormat) harden() format {
	if f.v3 {
		f.iter = max(f.iter, pbkdf2Floor(f.digest()))
	}
	return f
}

// harden raises h's cost to the floor when its format allows it.
func harden(h Hasher) Hasher {
	if hh, ok := h.(*hasher); ok {
		if f, ok := hh.f.(hardener); ok {
			return newHasher(f.harden())
		}
	}
	return h
}
