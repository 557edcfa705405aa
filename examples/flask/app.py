"""A small Flask app in the shape of a typical legacy app.

Users sign in with an e-mail address and a password checked against a werkzeug hash in the
PostgreSQL table `users` (id, name, email, password). Flask's signed session cookie remembers
who is signed in. The app has no way to reset a password of its own: resetgate, in front of it,
adds one under /pwreset without any change to this file.

Run it with Debian's python3-flask and python3-psycopg2:

    DATABASE_URL=postgres://app@127.0.0.1:5432/app SECRET_KEY=... /usr/bin/python3 app.py

HOST and PORT (default 127.0.0.1:5000) say where the development server listens.
"""

import os

import psycopg2
from flask import Flask, g, redirect, render_template, request, session, url_for
from werkzeug.security import check_password_hash

app = Flask(__name__)
app.secret_key = os.environ["SECRET_KEY"]
app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")


def db():
    """Return this request's database connection, opened on first use."""
    if "db" not in g:
        g.db = psycopg2.connect(os.environ["DATABASE_URL"])
    return g.db


@app.teardown_appcontext
def close_db(_exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def current_user():
    """Return (id, name, email) of the signed-in user, or None."""
    user_id = session.get("user_id")
    if user_id is None:
        return None
    with db().cursor() as cur:
        cur.execute("SELECT id, name, email FROM users WHERE id = %s", (user_id,))
        return cur.fetchone()


@app.get("/")
def home():
    user = current_user()
    if user is None:
        return redirect(url_for("login"))
    return render_template("home.html", name=user[1], email=user[2])


@app.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("login.html", email="")
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    with db().cursor() as cur:
        cur.execute("SELECT id, password FROM users WHERE lower(email) = lower(%s)", (email,))
        row = cur.fetchone()
    if row is None or not check_password_hash(row[1], password):
        return render_template("login.html", email=email, error="Wrong e-mail address or password."), 401
    session.clear()
    session["user_id"] = row[0]
    return redirect(url_for("home"))


@app.post("/logout")
def logout():
    session.clear()
    return redirect(url_for("login"))


if __name__ == "__main__":
    app.run(host=os.environ.get("HOST", "127.0.0.1"), port=int(os.environ.get("PORT", "5000")))
