-- The users table of the example Flask app, as a typical legacy app has it: the password
-- column holds werkzeug hashes ("pbkdf2:sha256:260000$salt$hex" with Debian 12's werkzeug 2.2).
CREATE TABLE IF NOT EXISTS users (
    id         SERIAL PRIMARY KEY,
    name       VARCHAR(100) NOT NULL,
    email      VARCHAR(254) NOT NULL UNIQUE,
    password   VARCHAR(255) NOT NULL,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT now()
);
