"""Create the users table (schema.sql) and one user whose password hash werkzeug makes itself.

    DATABASE_URL=postgres://app@127.0.0.1:5432/app /usr/bin/python3 seed.py [EMAIL NAME PASSWORD]

Without arguments the user is alice@example.com, "Alice", password "wonderland". Running it
again resets that user's name and password.
"""

import os
import pathlib
import sys

import psycopg2
from werkzeug.security import generate_password_hash


def main(argv):
    if len(argv) == 4:
        email, name, password = argv[1:]
    elif len(argv) == 1:
        email, name, password = "alice@example.com", "Alice", "wonderland"
    else:
        sys.exit("usage: seed.py [EMAIL NAME PASSWORD]")
    schema = (pathlib.Path(__file__).parent / "schema.sql").read_text()
    conn = psycopg2.connect(os.environ["DATABASE_URL"])
    try:
        with conn, conn.cursor() as cur:
            cur.execute(schema)
            cur.execute(
                "INSERT INTO users (name, email, password) VALUES (%s, %s, %s) "
                "ON CONFLICT (email) DO UPDATE SET name = EXCLUDED.name, password = EXCLUDED.password",
                (name, email, generate_password_hash(password)),
            )
    finally:
        conn.close()
    print(f"user {email} ready")


if __name__ == "__main__":
    main(sys.argv)
